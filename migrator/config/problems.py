"""Turn pydantic validation errors into located, actionable problems a user can fix.

Each problem is ``(path parts, message)``: the parts follow the YAML tree (``("renames", 1, "to")``),
never pydantic's internals (the union tag it adds to locations is removed). Messages say what was
expected and what was found, with a did-you-mean or an example where one helps. A value under a secret
key is never quoted. Pydantic's own wording is never shown, except as a last resort for an error kind
this module does not know.
"""

from __future__ import annotations

import difflib
import math
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError
from pydantic.fields import FieldInfo

from migrator.config.base import RULE_ERROR, ConfigModel
from migrator.config.envvars import PathParts
from migrator.config.secrets import is_secret_key

_MAX_SHOWN = 60


def format_path(parts: PathParts) -> str:
    """``("renames", 1, "to")`` -> ``renames[1].to``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class _Located:
    parts: list[str | int]
    container: type[BaseModel] | None = None  # the model in which the last part was looked up
    field: FieldInfo | None = None
    annotation: Any = None  # the declared type at the location


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional; a union of several models is returned as is."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _union_members(tp: Any) -> list[type[BaseModel]]:
    if get_origin(tp) in (Union, types.UnionType):
        return [a for a in get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
    return []


def _tagged_members(tp: Any) -> dict[str, Any]:
    """``{tag: member}`` of a union whose members carry pydantic ``Tag``s; empty for anything else."""
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) not in (Union, types.UnionType):
        return {}
    tagged = {}
    for member in get_args(tp):
        if get_origin(member) is Annotated:
            tags = [m.tag for m in get_args(member)[1:] if isinstance(m, Tag)]
            if tags:
                tagged[tags[0]] = get_args(member)[0]
    return tagged


def _type_tags(model: type[BaseModel]) -> tuple[str, ...]:
    info = model.model_fields.get("type")
    return tuple(get_args(_unwrap(info.annotation))) if info is not None else ()


def _field(model: type[BaseModel], key: object) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def locate(loc: tuple[int | str, ...], data: Any, root: Any) -> _Located:
    """Follow a pydantic location through the model types and the input tree together."""
    found = _Located(parts=[], annotation=root)
    tp: Any = root
    node = data
    for index, part in enumerate(loc):
        tagged = _tagged_members(tp)
        if part in tagged:
            tp = tagged[part]
            continue  # the tag of a union chosen by a callable discriminator (e.g. a flag or a block)
        tp = _unwrap(tp)
        members = _union_members(tp)
        if members:
            tag = node.get("type") if isinstance(node, dict) else None
            chosen = [m for m in members if tag in _type_tags(m)]
            tp = chosen[0] if chosen else None
            if part == tag and (index < len(loc) - 1 or not (isinstance(node, dict) and part in node)):
                continue  # the tag pydantic adds after a discriminated union
        found.parts.append(part)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = _field(tp, part)
            found.container, found.field = tp, info
            tp = info.annotation if info is not None else None
        elif origin in (list, set, frozenset):
            tp = get_args(tp)[0]
        elif origin is tuple:
            args = get_args(tp)
            tp = (
                args[part]
                if isinstance(part, int) and part < len(args) and args[-1] is not Ellipsis
                else args[0]
            )
        elif origin is dict:
            tp = get_args(tp)[1]
        else:
            tp = None
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    found.annotation = tp
    return found


# ----- describing values -------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def describe(value: Any, *, secret: bool) -> str:
    """How a found value is shown in a message: quoted when short and not secret, by kind otherwise."""
    if secret:
        return f"the value ({_kind(value)}, not shown because it is a secret)"
    if value is None or isinstance(value, dict | list | tuple):
        return _kind(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        digits = str(value)
        return digits if len(digits) <= _MAX_SHOWN else f"{digits[:20]}... ({len(digits.lstrip('-'))} digits)"
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return f"'{text}'"


def _closest(word: object, choices: list[str]) -> str | None:
    """The choice ``word`` most likely misspells (case differences first), or None."""
    if not isinstance(word, str) or not choices:
        return None
    folded = {c.lower(): c for c in choices}
    if word.lower() in folded:
        return folded[word.lower()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    lowered = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.6)
    return folded[lowered[0]] if lowered else None


def _did_you_mean(word: object, choices: list[str]) -> str:
    match = _closest(word, choices)
    return f"; did you mean '{match}'?" if match else ""


def _flow(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return str(yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000)).strip()
    return str(value)


def _example(located: _Located) -> str:
    key = located.parts[-1]
    field = located.field
    if field is not None and field.examples:
        return f"; for example: {key}: {_flow(field.examples[0])}"
    model = _unwrap(located.annotation)
    if isinstance(model, type) and issubclass(model, ConfigModel):
        required = [info.alias or name for name, info in model.model_fields.items() if info.is_required()]
        if required:
            return f"; it is a block with the keys {', '.join(required)}"
    return ""


# ----- messages per error kind ---------------------------------------------------------------------------

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "model_type": "a mapping (indented 'key: value' lines)",
    "model_attributes_type": "a mapping (indented 'key: value' lines)",
    "dict_type": "a mapping (indented 'key: value' lines)",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
}

_BOUNDS = {
    "greater_than": ("gt", "must be greater than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
}


def _union_problem(kind: str, located: _Located, value: Any) -> tuple[PathParts, str]:
    members = _union_members(_unwrap(located.annotation))
    tags = [tag for member in members for tag in _type_tags(member)]
    block = format_path(tuple(located.parts)) or "this block"
    parts = (*located.parts, "type")
    if kind == "union_tag_not_found":
        return parts, f"missing required key 'type' in {block}; one of: {', '.join(tags)}"
    tag = value.get("type") if isinstance(value, dict) else value
    return parts, (
        f"unknown {block} type {describe(tag, secret=False)}; supported types: {', '.join(tags)}"
        f"{_did_you_mean(tag, tags)}"
    )


def _message(error: dict[str, Any], located: _Located) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    key = located.parts[-1] if located.parts else ""
    secret = is_secret_key(key)
    got = describe(value, secret=secret)
    if kind == "missing":
        if isinstance(key, int):
            return f"expected a pair [start, end]; item {key} is missing"
        return f"missing required key '{key}'{_example(located)}"
    if kind == "extra_forbidden":
        model = located.container
        if model is not None and issubclass(model, ConfigModel):
            hint = model.unknown_key_hint(str(key))
            if hint:
                return hint
            allowed = model.yaml_keys()
            suggestion = _did_you_mean(key, allowed)
            return f"unknown key '{key}'" + (suggestion or f"; allowed keys here: {', '.join(allowed)}")
        return f"unknown key '{key}'"
    if kind in _EXPECTED:
        quote = (
            "; put it in quotes to make it a string" if kind == "string_type" and value is not None else ""
        )
        return f"expected {_EXPECTED[kind]}, got {got}{quote}"
    if kind == "int_from_float":
        return f"expected a whole number, got {got}"
    if kind in _BOUNDS and isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, got {got}"
    if kind in _BOUNDS:
        name, template = _BOUNDS[kind]
        return f"{template.format(ctx.get(name))}, got {got}"
    if kind == "literal_error":
        choices = [str(c) for c in get_args(_unwrap(located.annotation))] or [ctx.get("expected", "")]
        return f"expected one of {', '.join(choices)}, got {got}{_did_you_mean(value, choices)}"
    if kind in ("too_short", "too_long"):
        return f"expected a pair [start, end], got {ctx.get('actual_length')} items"
    if kind == "finite_number":
        return f"expected a finite number, got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    return f"invalid value {got}: {str(error.get('msg', '')).lower()}"


def translate(error: ValidationError, data: Any, root: Any) -> list[tuple[PathParts, str]]:
    """Every error of ``error`` as a located, user-facing problem; ``data`` is the validated input."""
    items = [(item, locate(item["loc"], data, root)) for item in error.errors(include_url=False)]
    misspelt = _misspelt_keys(items)
    problems: list[tuple[PathParts, str]] = []
    for item, located in items:
        kind = item["type"]
        if kind == RULE_ERROR:
            for relative, message in item["ctx"]["problems"]:
                problems.append(((*located.parts, *_split(relative)), message))
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            problems.append(_union_problem(kind, located, item.get("input")))
        elif kind == "invalid_key":
            key = describe(located.parts[-1] if located.parts else None, secret=False)
            problems.append((tuple(located.parts[:-1]), f"keys must be names, got {key}; quote it"))
        elif kind == "missing" and tuple(located.parts) in misspelt:
            continue  # the unknown-key problem next to it already says "did you mean"
        else:
            problems.append((tuple(located.parts), _message(dict(item), located)))
    unique: dict[tuple[PathParts, str], None] = dict.fromkeys(problems)
    return list(unique)


def _misspelt_keys(items: list[tuple[Any, _Located]]) -> set[PathParts]:
    """Paths of missing keys for which an unknown key beside them is the likely misspelling."""
    missing = {tuple(loc.parts) for item, loc in items if item["type"] == "missing"}
    found: set[PathParts] = set()
    for item, loc in items:
        if item["type"] != "extra_forbidden" or loc.container is None or not loc.parts:
            continue
        model = loc.container
        if issubclass(model, ConfigModel) and model.unknown_key_hint(str(loc.parts[-1])) is None:
            guess = _closest(loc.parts[-1], model.yaml_keys())
            if guess is not None and (*loc.parts[:-1], guess) in missing:
                found.add((*loc.parts[:-1], guess))
    return found


def _split(relative: str) -> PathParts:
    """``"keySchema[0].name"`` -> ``("keySchema", 0, "name")``."""
    parts: list[str | int] = []
    for chunk in relative.replace("[", ".[").split("."):
        if not chunk:
            continue
        index = chunk[1:-1] if chunk.startswith("[") and chunk.endswith("]") else ""
        parts.append(int(index) if index.isascii() and index.isdigit() else chunk)  # a key may be "[" itself
    return tuple(parts)
