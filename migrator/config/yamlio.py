"""Reading config YAML with positions, and writing it back in a stable, readable layout.

Reading: safe YAML only; dates stay strings (``writtenAt: 2024-05-01`` is not turned into a date); a single
document; syntax errors become one message with line and column; duplicate keys, which YAML would
silently resolve to the last one, are reported; every key and list item is indexed by its line.

Hostile input is refused with such a message too, in time proportional to the text: nesting deeper than
``MAX_DEPTH``; aliases that add more than ``MAX_ALIAS_VALUES`` values (an alias bomb, "billion laughs",
is refused while it is read, never expanded); an alias inside the block it names (a cycle); integers
of more than ``MAX_INT_DIGITS`` digits; NUL characters; a value its explicit tag cannot read
(``!!float abc``). Whatever the text, ``parse_yaml`` returns or raises ``YamlSyntaxError``, nothing else.

Writing (``render_yaml``): block style, top-level keys in the order of ``TOP_LEVEL_ORDER`` (unknown keys
after them, as written), ``type`` first in every block, multi-line strings as ``|`` blocks, each token
range of ``skipTokenRanges`` on one line, no YAML anchors. What it writes parses back to the same tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from migrator.config.envvars import PathParts

TOP_LEVEL_ORDER = (
    "source",
    "target",
    "renames",
    "savepoints",
    "skipTokenRanges",
    "skipSegments",
    "skipParquetFiles",
    "skipExportFiles",
    "validation",
    "reconcile",
    "migratorState",
    "applyCheckpoint",
)

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_INT_TAG = "tag:yaml.org,2002:int"

MAX_DEPTH = 100
"""Nesting levels a document may have; a config or savepoint uses fewer than ten."""
MAX_ALIAS_VALUES = 10_000
"""Values (scalars, lists and mappings) that aliases may add, all alias uses together."""
MAX_INT_DIGITS = 500
"""Digits an integer may have: below Python's smallest int-to-text limit (640 digits), so every integer
read can be written back (savepoints, logs); the largest token (2**127) has 39."""
_INT_LIMIT = 10**MAX_INT_DIGITS
_MAX_INT_TEXT = 4 * MAX_INT_DIGITS  # the binary spelling of the largest accepted integer fits in it
_FIX = "no config, savepoint or checkpoint nests that deep; check that this is the right file"


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML over one of the limits; ``problem`` says which and how to fix it."""


def _refused(problem: str, mark: Any) -> _Refused:
    return _Refused(None, None, problem, mark)


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type, bounded against hostile documents (module docstring)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._sizes: dict[int, int] = {}  # id(node) -> values in it once aliases are expanded
        self._alias_values = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        """Refuse deep ``[[[...`` while scanning: PyYAML's scanner slows down with every open flow level."""
        if self.flow_level >= MAX_DEPTH:
            raise _refused(f"values nested more than {MAX_DEPTH} levels deep; {_FIX}", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, enforcing the depth, cycle and alias limits before any work is spent on it."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, parent, index)
        if self._depth >= MAX_DEPTH:
            raise _refused(f"values nested more than {MAX_DEPTH} levels deep; {_FIX}", event.start_mark)
        anchor = event.anchor if isinstance(event, yaml.CollectionStartEvent) else None
        open_anchors = {anchor} if anchor is not None else set()
        self._open_anchors |= open_anchors
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors -= open_anchors
        self._sizes[id(node)] = 1 + sum([self._sizes.get(id(child), 1) for child in _children(node)])
        return node

    def _alias(self, event: yaml.AliasEvent, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if event.anchor in self._open_anchors:
            raise _refused(
                f"the alias *{event.anchor} is inside the block it names (a cycle); write the values out",
                event.start_mark,
            )
        node = super().compose_node(parent, index)
        self._alias_values += self._sizes.get(id(node), 1)
        if self._alias_values > MAX_ALIAS_VALUES:
            raise _refused(
                f"aliases (*name) add more than {MAX_ALIAS_VALUES:,} values (an alias bomb); write the repeated "
                "blocks out, or use fewer aliases",
                event.start_mark,
            )
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct a value; a value its tag cannot read (``!!float abc``) is a located error, not a crash."""
        try:
            return super().construct_object(node, deep)
        except (ArithmeticError, LookupError, ValueError, TypeError, AttributeError):
            what = _shown(node.value) if isinstance(node, yaml.ScalarNode) else "this block"
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            raise _refused(f"{what} is not a valid {tag} value; fix it, or remove the tag", node.start_mark) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer of at most ``MAX_INT_DIGITS`` digits; a longer spelling is refused before converting it."""
        if len(str(node.value)) <= _MAX_INT_TEXT:
            value = super().construct_yaml_int(node)
            if abs(value) < _INT_LIMIT:
                return value
        raise _refused(f"an integer with more than {MAX_INT_DIGITS} digits; no setting takes one", node.start_mark)

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        """A string without NUL characters (no path, host or name can hold one)."""
        value = super().construct_yaml_str(node)
        if "\0" in value:
            raise _refused("a NUL character (\\0 or \\x00) in a string; remove it", node.start_mark)
        return value


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(_INT_TAG, _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)


def _shown(value: object, limit: int = 40) -> str:
    text = str(value)
    return f"'{text[:limit]}...'" if len(text) > limit else f"'{text}'"


def _children(node: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class YamlSyntaxError(Exception):
    """The text is not well-formed YAML, or is over a limit; the message gives line and column."""


@dataclass
class ParsedYaml:
    """A YAML document as a plain tree, with the line of every key and list item."""

    tree: Any
    lines: dict[PathParts, int] = field(default_factory=dict)
    duplicates: list[tuple[PathParts, str]] = field(default_factory=list)

    def line_of(self, parts: PathParts) -> tuple[int, bool] | None:
        """``(line, exact)``: the line of ``parts``, else of its nearest written ancestor (a missing key)."""
        for end in range(len(parts), 0, -1):
            line = self.lines.get(tuple(parts[:end]))
            if line is not None:
                return line, end == len(parts)
        return None


def parse_yaml(text: str) -> ParsedYaml:
    """Parse ``text``; raise ``YamlSyntaxError`` when it is not one well-formed YAML document within the limits."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError(_character_message(text, exc)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return ParsedYaml(tree=None)
        duplicates = list(_duplicates(node, ()))
        tree = loader.construct_document(node)
    except _Refused as exc:
        raise YamlSyntaxError(_syntax_message(exc, "YAML refused")) from None
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(_syntax_message(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()
    parsed = ParsedYaml(tree=tree, duplicates=duplicates)
    _index(node, (), parsed.lines)
    return parsed


def _syntax_message(exc: yaml.MarkedYAMLError, what: str = "malformed YAML") -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or "invalid syntax"
    if "\\t" in problem or "\t" in problem:
        problem += " (indent with spaces; YAML does not allow tabs)"
    context = f" ({exc.context})" if exc.context else ""
    return f"{what}{where}: {problem}{context}"


def _character_message(text: str, exc: yaml.reader.ReaderError) -> str:
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return (
        f"malformed YAML at line {line}, column {column}: the character U+{code:04X} is not allowed in YAML "
        'text; remove it, or write it as an escape inside double quotes ("\\u0001")'
    )


def _key(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _duplicates(node: yaml.Node, path: PathParts) -> Iterable[tuple[PathParts, str]]:
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key == "<<":
                continue
            if key in first_line:
                yield (
                    (*path, key),
                    (
                        f"duplicate key '{key}' (first written at line {first_line[key]}); "
                        "YAML would silently keep only the last one"
                    ),
                )
            else:
                first_line[key] = key_node.start_mark.line + 1
            yield from _duplicates(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, (*path, index))


def _index(node: yaml.Node, path: PathParts, lines: dict[PathParts, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _key(key_node)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1  # the last one wins, as in YAML
            _index(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines)


# ----- writing -----------------------------------------------------------------------------------------


class _FlowList(list[Any]):
    """A list rendered on one line."""


class _Dumper(yaml.SafeDumper):
    """Block style, indented lists, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_flow(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(tuple, lambda dumper, data: dumper.represent_list(list(data)))
_Dumper.add_representer(_FlowList, _represent_flow)


def _ordered(node: Any) -> Any:
    if isinstance(node, dict):
        keys = sorted(node, key=lambda k: k != "type")  # stable: "type" first, the rest as written
        return {k: _ordered(node[k]) for k in keys}
    if isinstance(node, list | tuple):
        return [_ordered(item) for item in node]
    return node


def _top_level(tree: dict[str, Any]) -> dict[str, Any]:
    rank = {key: position for position, key in enumerate(TOP_LEVEL_ORDER)}
    keys = sorted(tree, key=lambda k: rank.get(k, len(rank)))
    ordered = {key: _ordered(tree[key]) for key in keys}
    ranges = ordered.get("skipTokenRanges")
    if isinstance(ranges, list):
        ordered["skipTokenRanges"] = [_FlowList(pair) if isinstance(pair, list) else pair for pair in ranges]
    return ordered


def render_yaml(tree: dict[str, Any], *, header: Iterable[str] = ()) -> str:
    """``tree`` as YAML text in a stable layout, preceded by ``header`` lines as ``#`` comments."""
    body = yaml.dump(
        _top_level(tree),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )
    return comment_lines(header) + body


def comment_lines(lines: Iterable[str]) -> str:
    """``lines`` as YAML ``#`` comments, one per line."""
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
