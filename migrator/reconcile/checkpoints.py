"""Apply checkpoints: what an apply has durably done, in files a person can read and edit.

A checkpoint is ``<reconcile.output>/checkpoints/apply_<created, epoch ms>.yaml``: the config as
written (secrets redacted, as in savepoints) plus an ``applyCheckpoint`` block holding the creation
and update times, the hash of the config, the pack it applies, and per table how many of the pack's
changes were acknowledged (``done`` of ``total``) and what became of them. Passing the file back as
``--config`` resumes, as a savepoint does.

Rules (DeepDiff DB's checkpoints broke several of them; see docs/reconcile.md):

* a checkpoint is written only after a batch was acknowledged, atomically, replacing the run's
  previous one, so it never claims work that did not happen;
* ``--resume`` continues from the newest checkpoint; a checkpoint whose config hash differs from the
  config's is refused (``MISMATCH``), one older than ``reconcile.checkpointExpiryHours`` (24 h by
  default) is deleted with a notice and the run starts fresh;
* without ``--resume`` earlier checkpoints are removed and the run starts fresh (safe: every change
  is checked against production before it is written, so re-applying is harmless);
* a run that fails or is interrupted keeps its checkpoint; a run that finishes removes it.

The edits a person may make: lower a table's ``done`` (that table's changes from there on are
applied again, each still checked), or delete a table's entry (the whole table again). Raising
``done`` skips changes that were never applied; changing anything else makes the file not resume.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.config import redact_tree, render_yaml
from migrator.config.reconcile import ApplyCheckpointState, TableProgress, parse_moment
from migrator.config.yamlio import comment_lines, parse_yaml
from migrator.errors import ConfigError
from migrator.files import make_folder, write_atomically

log = logging.getLogger("migrator.reconcile")

MISMATCH = "checkpoint config mismatch — config file has changed since checkpoint was created."
START_FRESH = ("run the same command without --resume to start fresh (earlier checkpoints are then removed; "
               "every change is checked against production again, so nothing is applied twice), or restore the "
               "config the checkpoint was made with")
NAME_RE = re.compile(r"^apply_(\d{13})\.yaml$")
STATE_KEYS = ("applyCheckpoint", "migratorState")  # what a checkpoint or savepoint adds to a config


def config_hash(raw: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the config as written, without checkpoint or savepoint state, secrets redacted."""
    tree = {k: v for k, v in redact_tree(raw, redact_where=False).items() if k not in STATE_KEYS}
    return "sha256:" + hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Progress:
    """One table's progress: the first ``done`` of its ``total`` changes were acknowledged."""

    done: int
    total: int
    applied: int = 0  # changes written
    skipped: int = 0  # production rows changed since the diff: left alone, reported
    already: int = 0  # rows already as the pack wants them (an earlier run applied them)


@dataclass
class State:
    """The ``applyCheckpoint`` block, mutable while the run goes (``ApplyCheckpointState`` validates files)."""

    created_at: str
    updated_at: str
    config_hash: str
    pack: str
    tables: dict[str, Progress] = field(default_factory=dict)

    @classmethod
    def of(cls, model: ApplyCheckpointState) -> State:
        """From a validated block."""
        tables = {name: Progress(**p.model_dump()) for name, p in model.tables.items()}
        return cls(model.created_at, model.updated_at, model.config_hash, model.pack, tables)

    def tree(self) -> dict[str, Any]:
        """The block as written."""
        return ApplyCheckpointState.model_validate({
            "createdAt": self.created_at, "updatedAt": self.updated_at, "configHash": self.config_hash,
            "pack": self.pack, "tables": {t: TableProgress(**vars(p)) for t, p in self.tables.items()},
        }).model_dump(by_alias=True)


@dataclass
class Checkpoint:
    """One apply run's progress; ``path`` is where it is (or will be) written."""

    path: Path
    state: State
    resumed: bool = False
    notices: list[str] = field(default_factory=list)

    def progress(self, table: str, total: int) -> Progress:
        """The table's progress (started at zero when the run had none for it, or for another total)."""
        found = self.state.tables.get(table)
        if found is None or found.total != total:
            found = self.state.tables[table] = Progress(done=0, total=total)
        return found


class Checkpoints:
    """The checkpoint files of one output folder, for one config."""

    def __init__(self, directory: Path, raw: dict[str, Any], *, expiry_hours: float,
                 now: Any = None) -> None:
        self.directory = directory
        self.raw = raw
        self.hash = config_hash(raw)
        self.expiry = dt.timedelta(hours=expiry_hours)
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._config_text: str | None = None

    def files(self) -> list[Path]:
        """The checkpoint files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if NAME_RE.match(p.name))

    def begin(self, pack: str, *, resume: bool, embedded: ApplyCheckpointState | None = None) -> Checkpoint:
        """The checkpoint this run continues (``resume``, or a checkpoint given as config), or a fresh one.

        Raises ``ConfigError`` (exit 2, nothing written) when the checkpoint to resume was made with
        another config or for another pack.
        """
        notices: list[str] = []
        if not resume and embedded is None:
            old = self.files()
            for path in old:
                path.unlink(missing_ok=True)
            if old:
                notices.append(f"removed {len(old)} earlier checkpoint(s) in {self.directory}; starting fresh "
                               "(pass --resume to continue one instead)")
            return self._fresh(pack, notices)
        newest = self.files()[-1] if self.files() else None
        state = State.of(embedded) if embedded is not None else (self._read(newest) if newest is not None else None)
        if state is None:
            notices.append(f"no checkpoint to resume in {self.directory}; starting fresh")
            return self._fresh(pack, notices)
        where = newest if embedded is None and newest is not None else self.directory
        age = self._now() - parse_moment(state.updated_at)
        if age > self.expiry:
            for path in self.files():
                path.unlink(missing_ok=True)
            hours = self.expiry.total_seconds() / 3600
            notices.append(f"checkpoint {where} expired (last written {state.updated_at}, more than {hours:g} h ago; "
                           "reconcile.checkpointExpiryHours) and was deleted; starting fresh")
            return self._fresh(pack, notices)
        if state.config_hash != self.hash:
            raise ConfigError([("applyCheckpoint.configHash", MISMATCH + f" ({where})\n    fix: {START_FRESH}")])
        if Path(state.pack).resolve() != Path(pack).resolve():
            raise ConfigError([("applyCheckpoint.pack", f"the checkpoint {where} applies the pack {state.pack}, "
                                                        f"not {pack}\n    fix: pass --pack {state.pack}, or "
                                                        "run without --resume to start fresh")])
        path = newest if embedded is None and newest is not None else self._path_for(parse_moment(state.created_at))
        notices.append(f"resuming from checkpoint {path}: " + ", ".join(
            f"{t} {p.done:,}/{p.total:,}" for t, p in state.tables.items()) if state.tables else
            f"resuming from checkpoint {path}")
        return Checkpoint(path, state, resumed=True, notices=notices)

    def save(self, checkpoint: Checkpoint) -> None:
        """Write the checkpoint (after a batch was acknowledged), replacing the run's previous one."""
        checkpoint.state.updated_at = _stamp(self._now())
        if self._config_text is None:  # the config part never changes during a run: rendered once, not per batch
            tree = {k: v for k, v in redact_tree(self.raw, redact_where=False).items() if k not in STATE_KEYS}
            self._config_text = render_yaml(tree)
        lines = [
            f"migrator apply checkpoint, written {checkpoint.state.updated_at}",
            "resume with: migrator apply --config <this file> --resume (or the original config with --resume)",
            "you may lower a table's 'done' (its changes from there are applied again, each checked against "
            "production) or delete a table's entry; do not raise 'done' or change anything else",
        ]
        make_folder(self.directory)
        write_atomically(checkpoint.path, comment_lines(lines) + self._config_text
                         + render_yaml({"applyCheckpoint": checkpoint.state.tree()}))

    def finish(self, checkpoint: Checkpoint) -> None:
        """The run finished: its checkpoint is no longer needed."""
        checkpoint.path.unlink(missing_ok=True)

    def _fresh(self, pack: str, notices: list[str]) -> Checkpoint:
        now = self._now()
        state = State(_stamp(now), _stamp(now), self.hash, str(Path(pack).resolve()))
        return Checkpoint(self._path_for(now), state, notices=notices)

    def _path_for(self, created: dt.datetime) -> Path:
        return self.directory / f"apply_{int(created.timestamp() * 1000):013d}.yaml"

    def _read(self, path: Path) -> State:
        try:
            tree = parse_yaml(path.read_text(encoding="utf-8")).tree
            return State.of(ApplyCheckpointState.model_validate(tree["applyCheckpoint"]))
        except Exception as exc:  # a person's edit gone wrong: say which file and what
            raise ConfigError([("applyCheckpoint", f"the checkpoint {path} cannot be read ({exc})\n    fix: "
                                                   "undo the edit, or delete the file to start fresh")]) from None
