"""``load_config``: from a file (or YAML text) to a validated ``MigratorConfig``, or one ``ConfigError``.

Steps: read, parse YAML (with line numbers), expand ``${VAR}`` references, validate. Every problem found
along the way is collected and raised together in a ``ConfigError`` (exit code 2), each with its dotted
path, a fix-it message and, when known, its line; text that cannot be a config (too deep, an alias bomb, ...;
see ``yamlio``) is refused the same way, in bounded time. The tree as written (references unexpanded) is kept in
``LoadedConfig.raw`` so a savepoint can re-render the config without baking secrets into it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from migrator.config.envvars import PathParts, expand_tree
from migrator.config.model import MigratorConfig
from migrator.config.problems import format_path, translate
from migrator.config.yamlio import ParsedYaml, YamlSyntaxError, parse_yaml
from migrator.errors import ConfigError
from migrator.s3 import is_s3_uri, read_text

_SHAPE_HINT = "a config is a mapping with at least 'source:' and 'target:' blocks (see config/*.yaml)"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, the tree it was built from, and where it came from."""

    model: MigratorConfig
    raw: dict[str, Any] = field(repr=False)  # may hold literal secrets
    source: str | None = None


def load_config(
    path_or_text: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Load and validate a config file; a ``str`` holding a newline is taken as the YAML text itself.

    The file may be local or an ``s3://`` (also ``s3a://``, ``s3n://``) URI, read with boto3.

    ``environ`` (default ``os.environ``) resolves ``${VAR}`` references. Raises ``ConfigError`` listing
    every problem.
    """
    text, source = _read(path_or_text)
    try:
        parsed = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError([("", str(exc))], source=source) from None
    if parsed.tree is None:
        raise ConfigError([("", f"the config is empty; {_SHAPE_HINT}")], source=source)
    if not isinstance(parsed.tree, dict):
        kind = "a list" if isinstance(parsed.tree, list) else "a single value"
        raise ConfigError([("", f"the top level is {kind}; {_SHAPE_HINT}")], source=source)

    expanded, env_problems = expand_tree(parsed.tree, os.environ if environ is None else environ)
    problems: list[tuple[PathParts, str]] = [*parsed.duplicates, *env_problems]
    model: MigratorConfig | None = None
    try:
        model = MigratorConfig.model_validate(expanded)
    except ValidationError as exc:
        unresolved = [path for path, _ in env_problems]
        problems += [
            (path, message)
            for path, message in translate(exc, expanded, MigratorConfig)
            if not any(path[: len(bad)] == bad for bad in unresolved)
        ]
    if problems or model is None:
        raise ConfigError(_located(problems, parsed), source=source)
    return LoadedConfig(model=model, raw=parsed.tree, source=source)


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str | None]:
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        return path_or_text, None
    if isinstance(path_or_text, str) and is_s3_uri(path_or_text):
        return read_text(path_or_text), path_or_text
    path = Path(path_or_text)
    source = str(path)
    try:
        if not path.exists():
            raise ConfigError([("", f"config file not found: {source}")], source=source)
        if not path.is_file():
            raise ConfigError([("", f"not a file: {source}")], source=source)
        return path.read_text(encoding="utf-8"), source
    except UnicodeDecodeError as exc:
        raise ConfigError([("", f"the file is not UTF-8 text (byte {exc.start})")], source=source) from None
    except OSError as exc:
        raise ConfigError([("", f"cannot read {source}: {exc.strerror}")], source=source) from None


def _located(problems: list[tuple[PathParts, str]], parsed: ParsedYaml) -> list[tuple[str, str]]:
    """Problems in document order, each with its line when known."""
    rows = []
    for order, (parts, message) in enumerate(problems):
        found = parsed.line_of(parts)
        line, suffix = 0, ""
        if found is not None:
            line, exact = found
            suffix = f" (line {line})" if exact else f" (in the block at line {line})"
        rows.append((line, order, format_path(parts), message + suffix))
    rows.sort()
    return [(path, message) for _, _, path, message in rows]
