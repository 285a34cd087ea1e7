"""Resume without hand-work: running a config again continues the newest savepoint of the same job.

``migrator migrate|validate|diff --config FILE`` with a plain config (one without ``migratorState``)
looks into the config's local savepoint folder, newest savepoint first:

* a savepoint that cannot be read is skipped with a warning;
* one written by another command (migrate, validate and diff share the folder; diff and validate
  share the kind ``validate`` but not the command) or for other tables is passed over;
* the newest one of the same command and tables is taken, unless its run had finished all of its
  work: the run then starts over. A run streaming changes (``migratorState.stream``) is never
  finished while its stream has shards to read: running the config again continues streaming
  from the saved positions.

Only the taken savepoint's progress is used (``skipTokenRanges``, ``skipSegments``,
``skipParquetFiles``, ``migratorState``): it is added to the config as given, whose literal secrets
the savepoint holds redacted. One line says which savepoint is resumed. The checks made when a
savepoint is passed as the config (same tables by identity, same splitting) then run as usual.
``--fresh``, or ``savepoints.autoResume: false``, start over. Savepoints on S3 or GCS are not looked
into: pass one as ``--config`` to resume it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from migrator.config import LoadedConfig, load_config
from migrator.config.yamlio import YamlSyntaxError, parse_yaml
from migrator.errors import ConfigError
from migrator.savepoints import list_savepoints

log = logging.getLogger(__name__)

PROGRESS_KEYS = ("skipTokenRanges", "skipSegments", "skipParquetFiles", "skipExportFiles", "migratorState")
TABLE_KEYS = ("type", "keyspace", "table")


def resume_point(loaded: LoadedConfig, command: str, *, fresh: bool = False) -> LoadedConfig:
    """The config to run: ``loaded`` as given, or continuing its job's newest savepoint (module docstring)."""
    config = loaded.model
    if fresh or config.migrator_state is not None or config.savepoints.auto_resume is False:
        return loaded
    folder = Path(config.savepoints.location)
    if "://" in config.savepoints.location or not folder.is_dir():
        return loaded
    tables = _tables(loaded.raw)
    for path in reversed(list_savepoints(folder)):
        tree = _read(path)
        if tree is None:
            continue
        state = tree.get("migratorState") or {}
        if _command(state) != command or _tables(tree) != tables:
            log.debug("savepoint %s: another command or other tables, passed over", path)
            continue
        done, total = state.get("rangesDone"), state.get("rangesTotal")
        if isinstance(done, int) and isinstance(total, int) and done >= total and not _streaming(state):
            log.info("the newest %s savepoint, %s, is of a finished run: starting over", command, path)
            return loaded
        merged = {**loaded.raw, **{key: tree[key] for key in PROGRESS_KEYS if key in tree}}
        try:
            resumed = load_config(yaml.safe_dump(merged, sort_keys=False))
        except ConfigError as exc:  # the savepoint's progress is what is wrong: name the file and the way out
            found = (f"the savepoint {path}, which this run would resume, is invalid; fix it or move it away, "
                     "or start over with --fresh")
            raise ConfigError([("", found), *exc.problems]) from None
        log.warning("resuming from %s (%s of %s ranges done); --fresh starts over", path, done, total)
        return LoadedConfig(resumed.model, resumed.raw, loaded.source)
    return loaded


def _read(path: Path) -> dict[str, Any] | None:
    try:
        tree = parse_yaml(path.read_text(encoding="utf-8")).tree
    except (OSError, UnicodeDecodeError, YamlSyntaxError) as exc:
        log.warning("savepoint %s cannot be read (%s): skipped", path, exc)
        return None
    if not isinstance(tree, dict) or not isinstance(tree.get("migratorState"), dict):
        log.warning("savepoint %s holds no migratorState: skipped", path)
        return None
    return tree


def _streaming(state: dict[str, Any]) -> bool:
    """Whether the savepoint holds stream positions still to follow (a stream ends only when its shards do)."""
    stream = state.get("stream")
    if not isinstance(stream, dict):
        return False
    shards = stream.get("shards")
    return not isinstance(shards, dict) or not shards or any(
        not (isinstance(entry, dict) and entry.get("done")) for entry in shards.values())


def _command(state: dict[str, Any]) -> Any:
    """The command that resumes a savepoint (older savepoints name only their kind)."""
    return state.get("command") or state.get("kind")


def _tables(tree: dict[str, Any]) -> tuple[Any, ...]:
    """What names a job's tables in a config tree: each side's type, keyspace and table, as written."""
    sides: list[dict[str, Any]] = [block if isinstance(block := tree.get(side), dict) else {}
                                   for side in ("source", "target")]
    return tuple(side.get(key) for side in sides for key in TABLE_KEYS)
