"""Items in DynamoDB's JSON wire form (``{"name": {"S": "..."}}``), never converted to Python values.

Keeping the wire form is what makes a copy exact: numbers stay the decimal strings DynamoDB returned
(38 digits, exponents, no float on the way), binaries stay the base64 text the server sent (``wire``;
boto3's form, with ``bytes``, is accepted too), sets keep their members. This
module holds what the copy and the comparison need to know about an item: its key, its size, whether
DynamoDB's TTL has expired it, and its attributes renamed.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from migrator.report.view import encoder

Item = dict[str, dict[str, Any]]

MAX_ITEM_BYTES = 400 * 1024
TTL_IGNORED_AFTER_S = 5 * 365 * 24 * 3600  # DynamoDB never deletes an item whose TTL is older than five years


def key_of(item: Mapping[str, Any], key_names: Sequence[str]) -> Item:
    """The item's primary key attributes (as a Key for GetItem / BatchGetItem)."""
    return {name: item[name] for name in key_names}


def expired(item: Mapping[str, Any], ttl_attribute: str | None, now: float | None = None) -> bool:
    """Whether DynamoDB's TTL has expired the item (and will delete it): a Number of epoch seconds in the past.

    An item without the attribute, or holding another type there, never expires (upstream's #233 lost
    exactly those items). A time more than five years in the past is ignored by DynamoDB, so such an
    item is live too.
    """
    if ttl_attribute is None:
        return False
    value = item.get(ttl_attribute)
    if not value or "N" not in value:
        return False
    try:
        at = float(value["N"])
    except ValueError:
        return False
    now = time.time() if now is None else now
    return now - TTL_IGNORED_AFTER_S <= at <= now


def renamed(item: Item, renames: Mapping[str, str]) -> Item:
    """The item with its top-level attributes renamed (``renames`` maps old names to new ones)."""
    if not renames:
        return item
    return {renames.get(name, name): value for name, value in item.items()}


def item_size(item: Mapping[str, Any]) -> int:
    """The item's size as DynamoDB counts it for capacity and the 400 KB limit (names plus values)."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: Mapping[str, Any]) -> int:
    """One attribute value's size, by DynamoDB's published rules (numbers approximated from their digits)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return _binary_size(inner)
    if kind == "N":
        return _number_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "BS":
        return sum(_binary_size(b) for b in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def _binary_size(value: str | bytes) -> int:
    """Bytes of a binary: ``bytes`` as boto3 gives them, or base64 text as the wire carries it."""
    if isinstance(value, bytes):
        return len(value)
    return len(value) * 3 // 4 - value[-2:].count("=")


def _number_size(text: str) -> int:
    digits = sum(1 for c in text.lstrip("-").split("E")[0].split("e")[0] if c.isdigit())
    return (digits + 1) // 2 + 1


def item_digest(item: Mapping[str, Any], ignore: Sequence[str] = ()) -> str:
    """A 16-byte hex digest of the item's value as DynamoDB defines equality (for reconcile).

    Attribute order does not matter, numbers count by value (``1.50E+3`` is ``1500``), string,
    number and binary sets by their members in any order; ``ignore`` names attributes left out.
    """
    canonical = {name: _canonical(value) for name, value in item.items() if name not in ignore}
    text = _CANONICAL(canonical)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# built once: json.dumps with options builds an encoder per call, and a diff digests two items per conflict
_CANONICAL = encoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_AS_IS = frozenset(("S", "BOOL", "NULL"))  # kinds whose wire form already is canonical


def _canonical(value: Mapping[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    if kind in _AS_IS:
        return value
    if kind == "N":
        return ["N", _number_text(inner)]
    if kind == "NS":
        return ["NS", sorted(_number_text(n) for n in inner)]
    if kind in ("SS", "BS"):
        return [kind, sorted(_binary_text(v) if kind == "BS" else v for v in inner)]
    if kind == "B":
        return ["B", _binary_text(inner)]
    if kind == "L":
        return ["L", [_canonical(v) for v in inner]]
    if kind == "M":
        return ["M", {k: _canonical(v) for k, v in inner.items()}]
    return [kind, inner]


def _number_text(text: str) -> str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return "0" if number.is_zero() else str(number.normalize())


def _binary_text(value: str | bytes) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value
