"""Which config values are secrets, and how they are hidden when a config is rendered or logged.

The one list of secret key names lives here (``SECRET_KEYS``); a key is secret when its name matches one of
them case-insensitively, wherever it sits in the tree (so ``connectionProperties.password`` counts too).

Guarantees of ``redact_tree``: the input is never modified; a secret whose value is exactly a ``${VAR}``
reference is kept (it holds no secret); in ``${VAR:-default}`` only the default is replaced; any other
value of a secret key becomes ``REDACTED``.
"""

from __future__ import annotations

import copy
from typing import Any

from migrator.config.envvars import is_plain_reference, reference_with_default

REDACTED = "<redacted>"

REDACTED_MESSAGE = (
    "this value was redacted when the savepoint was written; put the real value back, "
    "or better a ${VAR} reference"
)

SECRET_KEYS = frozenset(
    name.lower()
    for name in (
        "password",
        "secretKey",
        "accessKey",
        "trustStorePassword",
        "keyStorePassword",
        "sessionToken",
        "token",
        "secret",
    )
)


def is_secret_key(key: object) -> bool:
    """True when a value under ``key`` is a secret."""
    return isinstance(key, str) and key.lower() in SECRET_KEYS


def redact_value(value: Any) -> Any:
    """The value to show instead of a secret ``value``."""
    if value is None or is_plain_reference(value):
        return value
    with_default = reference_with_default(value)
    if with_default is not None:
        return "${" + with_default[0] + ":-" + REDACTED + "}"
    return REDACTED


def redact_tree(tree: dict[str, Any], *, redact_where: bool) -> dict[str, Any]:
    """A deep copy of a config tree with every literal secret replaced by ``REDACTED``.

    With ``redact_where`` the source's ``where`` predicate (which may hold customer data) is hidden too.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: redact_value(v) if is_secret_key(k) else walk(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(item) for item in node]
        return copy.deepcopy(node)

    redacted: dict[str, Any] = walk(tree)
    source = redacted.get("source")
    if redact_where and isinstance(source, dict) and "where" in source:
        source["where"] = redact_value(source["where"])
    return redacted


def secret_values_in(tree: Any) -> set[str]:
    """Every non-empty string held by a secret key in ``tree`` (an expanded config tree)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if is_secret_key(key) and isinstance(value, str | int) and not isinstance(value, bool):
                    text = str(value)
                    if text and text != REDACTED:
                        found.add(text)
                else:
                    walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(tree)
    return found
