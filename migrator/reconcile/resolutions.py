"""``resolutions.json``: the decisions a person made, each bound to the two rows it was made about.

Every decision is written at once (atomically: the file is never partial), with the digests of the
production and dev rows as ``diff`` saw them. A decision holds only while both rows are unchanged:
when a later ``diff`` sees another digest on either side, the decision is void and the conflict is
asked again (DeepDiff DB kept such decisions, so a choice made about one value silently applied to
another). The file is rewritten whole on each decision, which suits a person's pace; strategies
decide the bulk (``decisions.decide``) and are not recorded here.

Format::

    {"version": 1, "createdAt": "...", "updatedAt": "...",
     "decisions": [{"table": "shop.users", "key": {"id": 7}, "prodDigest": "...", "devDigest": "...",
                    "decision": "use_dev", "at": "..."}]}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.errors import ConfigError
from migrator.files import make_folder, write_atomically
from migrator.reconcile.decisions import KEEP_PROD, USE_DEV, Conflict, key_text

VERSION = 1
RECORDED = (KEEP_PROD, USE_DEV)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_FIELDS: dict[str, tuple[type, str]] = {"createdAt": (str, "a string"), "decisions": (list, "a list")}
_ENTRY_FIELDS: dict[str, tuple[type, str]] = {
    "table": (str, "a string"), "key": (dict, "an object"), "prodDigest": (str, "a string"),
    "devDigest": (str, "a string"),
}


def _decisions(data: Any) -> list[dict[str, Any]]:
    """The decisions of a parsed file, each checked; ``ValueError`` naming the first thing wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, found {type(data).__name__}")
    if data.get("version") != VERSION:
        raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
    _check_fields(data, _FIELDS, "the file")
    for number, entry in enumerate(data["decisions"]):
        if not isinstance(entry, dict):
            raise ValueError(f"decision {number} is not an object")
        _check_fields(entry, _ENTRY_FIELDS, f"decision {number}")
        if entry.get("decision") not in RECORDED:
            raise ValueError(f"unknown decision {entry.get('decision')!r} in decision {number}; "
                             f"expected one of {', '.join(RECORDED)}")
    return list(data["decisions"])


def _check_fields(block: dict[str, Any], fields: dict[str, tuple[type, str]], where: str) -> None:
    for name, (kind, what) in fields.items():
        if not isinstance(block.get(name), kind):
            raise ValueError(f"'{name}' of {where} must be {what}")


class Resolutions:
    """The decisions of one output folder, by ``(table, key text)``."""

    def __init__(self, path: Path, *, clock: Callable[[], str] = _now) -> None:
        self.path = path
        self._clock = clock
        self.created_at = clock()
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}
        self.voided = 0  # decisions found void by ``lookup`` (a row changed since)
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            decisions = _decisions(data)
            self.created_at = data["createdAt"]
            for entry in decisions:
                self.entries[(entry["table"], key_text(entry["key"]))] = entry
        except (OSError, ValueError, RecursionError) as exc:
            raise ConfigError([("resolutions", f"{self.path} cannot be read ({exc})\n    fix: undo the edit, "
                                               "or move the file away to decide again")]) from None

    def lookup(self, conflict: Conflict) -> str | None:
        """The recorded decision for ``conflict``, or None (none, or void because a row changed since)."""
        if not self.entries:
            return None  # nothing recorded: spare every conflict its key's text
        entry = self.entries.get(conflict.identity)
        if entry is None:
            return None
        if entry["prodDigest"] != conflict.prod_digest or entry["devDigest"] != conflict.dev_digest:
            self.voided += 1
            return None
        return str(entry["decision"])

    def record(self, conflict: Conflict, decision: str) -> None:
        """Record a person's decision and write the file at once."""
        self.record_many([conflict], decision)

    def record_many(self, conflicts: list[Conflict], decision: str) -> None:
        """Record one decision for several conflicts (say, the rest of a table), in one write."""
        if decision not in RECORDED:
            raise ValueError(f"only {RECORDED} are recorded, not {decision!r}")
        at = self._clock()
        for conflict in conflicts:
            self.entries[conflict.identity] = {"table": conflict.table, "key": conflict.key,
                                               "prodDigest": conflict.prod_digest, "devDigest": conflict.dev_digest,
                                               "decision": decision, "at": at}
        self.save()

    def save(self) -> None:
        """Write the file whole (atomically)."""
        data = {"version": VERSION, "createdAt": self.created_at, "updatedAt": self._clock(),
                "decisions": list(self.entries.values())}
        make_folder(self.path.parent)
        write_atomically(self.path, json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")
