"""``${VAR}`` references in config values: expansion before validation.

Syntax, in any string value (never in keys):

* ``${NAME}``: the value of the environment variable NAME; unset is a problem at that path;
* ``${NAME:-default}``: NAME's value, or ``default`` when NAME is unset or empty;
* ``$${``: a literal ``${`` (so ``$${HOME}`` stays ``${HOME}``).

A reference may be the whole value or embedded (``"${HOST}:9042"``). Expansion returns a new tree; the
input tree (the config as written, kept for re-rendering) is never modified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PathParts = tuple[str | int, ...]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# The escape first, so "$${" is never read as "$" followed by a reference.
_OPEN = re.compile(r"\$\$\{|\$\{")
_BODY = re.compile(rf"^(?P<name>{_NAME})(?::-(?P<default>.*))?$", re.DOTALL)
_WHOLE_REFERENCE = re.compile(rf"^\$\{{(?P<name>{_NAME})(?::-(?P<default>[^}}]*))?\}}$")
_UNCLOSED = "'${' is not closed by '}'; write '$${' for a literal '${'"


def is_plain_reference(value: object) -> bool:
    """True when ``value`` is exactly one ``${NAME}`` reference, without a default."""
    match = _WHOLE_REFERENCE.match(value) if isinstance(value, str) else None
    return match is not None and match.group("default") is None


def reference_with_default(value: object) -> tuple[str, str] | None:
    """``(NAME, default)`` when ``value`` is exactly ``${NAME:-default}``, else None."""
    match = _WHOLE_REFERENCE.match(value) if isinstance(value, str) else None
    if match is None or match.group("default") is None:
        return None
    return match.group("name"), match.group("default")


def expand_string(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Expand the references in ``text``; the second item lists the problems (empty when all is well).

    A reference runs from ``${`` to the next ``}``. One pass over the text, so time is linear in its length
    whatever it holds; each distinct problem is listed once.
    """
    problems: list[str] = []
    pieces: list[str] = []
    last_close = text.rfind("}")
    position = 0
    while (opening := _OPEN.search(text, position)) is not None:
        pieces.append(text[position : opening.start()])
        position = opening.end()
        if opening.group(0) == "$${":
            pieces.append("${")
            continue
        close = text.find("}", position) if position <= last_close else -1
        if close == -1:
            problems.append(_UNCLOSED)
            pieces.append("${")
            continue
        pieces.append(_reference(text[position:close], environ, problems))
        position = close + 1
    pieces.append(text[position:])
    return "".join(pieces), list(dict.fromkeys(problems))


def _reference(body: str, environ: Mapping[str, str], problems: list[str]) -> str:
    """The value of the reference ``${body}``, or the reference itself with a problem added."""
    token = "${" + body + "}"
    ref = _BODY.match(body)
    if ref is None:
        problems.append(
            f"'{token}' is not a valid variable reference; use ${{NAME}} or ${{NAME:-default}} "
            "(letters, digits and _), or '$${' for a literal '${'"
        )
        return token
    name, default = ref.group("name"), ref.group("default")
    value = environ.get(name)
    if default is not None and not value:
        return default
    if value is None:
        problems.append(
            f"environment variable {name} is not set (referenced as ${{{name}}}); "
            f"export it, or give a default with ${{{name}:-value}}"
        )
        return token
    return value


def escape_tree(tree: Any) -> Any:
    """A copy of an expanded tree in which every literal ``${`` is written ``$${`` again."""
    if isinstance(tree, dict):
        return {key: escape_tree(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [escape_tree(item) for item in tree]
    if isinstance(tree, str):
        return tree.replace("${", "$${")
    return tree


def expand_tree(tree: Any, environ: Mapping[str, str]) -> tuple[Any, list[tuple[PathParts, str]]]:
    """A copy of ``tree`` with every string value expanded, plus the located problems."""
    problems: list[tuple[PathParts, str]] = []

    def walk(node: Any, path: PathParts) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, (*path, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, (*path, index)) for index, item in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            expanded, found = expand_string(node, environ)
            problems.extend((path, message) for message in found)
            return expanded
        return node

    return walk(tree, ()), problems
