"""The pack: every change ``apply`` will make to production, written for review before anything changes.

``<output>/pack/`` holds ``pack.json`` (what is in it: per table the file, counts of writes and
deletes, conflicts kept as production has them or still pending, the config's hash) and per table
one file in the backend's format (``ChangeFormat``: CQL statements, JSON lines), changes in a safe
order: rows only dev has first, then conflicts decided for dev, then deletes of rows only production
has, last and written commented out unless ``reconcile.allowDeletes``. Each change says what
production held when ``diff`` looked (``expect``) and what it will hold (``want``).

The pack is rebuilt from the differences, the strategies and ``resolutions.json``, in the same
streaming pass that writes ``conflicts.json`` (``render``; deletes go through a side file so they
come last); ``pack.json`` is written last, so a folder without it is an unfinished pack.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from migrator.files import make_folder, open_private, write_atomically
from migrator.reconcile.changes import ChangeFormat
from migrator.reconcile.render import TableDiff, pack_counts

VERSION = 1
MANIFEST = "pack.json"


def pack_dir(output: Path) -> Path:
    """Where ``diff`` writes the pack."""
    return output / "pack"


class PackWriter:
    """The pack's folder and file: ``handle`` takes puts, ``deletes`` deletes (``render``); ``close`` ends it."""

    def __init__(self, output: Path, fmt: ChangeFormat, *, table: str, dev: str, allow_deletes: bool,
                 config_hash: str) -> None:
        self.folder = pack_dir(output)
        if self.folder.exists():
            shutil.rmtree(self.folder)
        make_folder(self.folder)
        self.fmt, self.table, self.dev = fmt, table, dev
        self.allow_deletes, self.config_hash = allow_deletes, config_hash
        self.file = f"{table}.{fmt.extension}"
        # the folder is complete only once pack.json is written, last; apply refuses a folder without it
        self.handle = open_private(self.folder / self.file)
        self.deletes = tempfile.TemporaryFile("w+", encoding="utf-8", dir=self.folder)  # noqa: SIM115
        for line in fmt.header(table, dev, table):
            self.handle.write(line + "\n")

    def discard(self) -> None:
        """Remove the unfinished pack (the pass writing it failed)."""
        self.handle.close()
        self.deletes.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def close(self, tally: TableDiff) -> None:
        """Finish the table's file (deletes last) and write pack.json and summary.txt."""
        self.deletes.seek(0)
        shutil.copyfileobj(self.deletes, self.handle)
        self.deletes.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        manifest = {"version": VERSION, "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "dev": self.dev, "production": self.table, "configHash": self.config_hash,
                    "tables": {self.table: {"file": self.file, **pack_counts(tally, self.allow_deletes)}}}
        write_atomically(self.folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        write_atomically(self.folder / "summary.txt", pack_text(manifest) + "\n")


def pack_text(manifest: dict[str, Any]) -> str:
    """What the pack will do, for people."""
    lines = [f"reconcile pack: dev {manifest['dev']} -> production {manifest['production']} "
             f"(written {manifest['createdAt']})"]
    for table, t in manifest["tables"].items():
        lines.append(f"  {table} ({t['file']}): write {t['added']:,} rows only dev has and {t['conflictsForDev']:,} "
                     f"conflicts decided for dev; delete {t['deletes']:,} rows only production has"
                     + (f" ({t['deletesDisabled']:,} deletes written commented out: reconcile.allowDeletes is false)"
                        if t["deletesDisabled"] else ""))
        lines.append(f"    untouched: {t['keptProduction']:,} conflicts kept as production has them, "
                     f"{t['pending']:,} pending review (migrator resolve-conflicts)")
    return "\n".join(lines)


def read_manifest(folder: Path) -> dict[str, Any]:
    """A pack's ``pack.json``."""
    data: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return data
