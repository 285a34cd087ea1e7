"""Reading config YAML with positions, and writing it back in a stable, readable layout.

Reading: safe YAML only; dates stay strings (``writtenAt: 2024-05-01`` is not turned into a date); a single
document; syntax errors become one message with line and column; duplicate keys, which YAML would
silently resolve to the last one, are reported; every key and list item is indexed by its line.

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
    "validation",
    "reconcile",
    "migratorState",
    "applyCheckpoint",
)

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlSyntaxError(Exception):
    """The text is not well-formed YAML; the message gives line and column."""


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
    """Parse ``text``; raise ``YamlSyntaxError`` when it is not one well-formed YAML document."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return ParsedYaml(tree=None)
        duplicates = list(_duplicates(node, ()))
        tree = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(_syntax_message(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()
    parsed = ParsedYaml(tree=tree, duplicates=duplicates)
    _index(node, (), parsed.lines)
    return parsed


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or "invalid syntax"
    if "\\t" in problem or "\t" in problem:
        problem += " (indent with spaces; YAML does not allow tabs)"
    context = f" ({exc.context})" if exc.context else ""
    return f"malformed YAML{where}: {problem}{context}"


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
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header)
    return comments + body
