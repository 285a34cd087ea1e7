"""``migrator resolve-conflicts``: a person decides the conflicts no strategy decided, one by one.

The session walks ``conflicts.json`` (as the last ``diff`` wrote it) and asks about every conflict
still **pending** (its table's strategy is ``manual``, or ``newest`` could not tell). Each is shown
with its key, write times and, side by side, every differing column's value in production and in dev.
The answers:

* ``p`` keep production, ``d`` use dev, ``s`` skip (asked again next time);
* ``P`` / ``D`` the same for the rest of this table;
* ``q`` save and quit.

Every decision is written to ``resolutions.json`` at once, bound to both rows' digests (``resolutions``);
``--resume`` skips conflicts that already have a valid decision. When the session ends (or quits)
``conflicts.json``, the summary and the pack are rebuilt from the difference files with the new
decisions, without reading either database again. ``--auto`` asks nothing: it rebuilds with the
strategies and recorded decisions (for CI), and, like a session that ends with conflicts undecided,
exits 1 while any conflict is still pending.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from migrator.config import LoadedConfig
from migrator.errors import ConfigError
from migrator.reconcile.decisions import KEEP_PROD, PENDING, USE_DEV, Conflict
from migrator.reconcile.diff import DiffResult, write_outputs
from migrator.reconcile.preflight import settings_of
from migrator.reconcile.resolutions import Resolutions

CHOICES = {"p": KEEP_PROD, "d": USE_DEV}
PROMPT = "[p] keep production  [d] use dev  [s] skip  [P]/[D] same for the rest of this table  [q] save and quit: "
WIDTH = 36


def read_conflicts(path: Path) -> Iterator[dict[str, Any]]:
    """The conflicts of a ``conflicts.json`` written by ``diff``, one at a time (one per line there)."""
    if not path.is_file():
        raise ConfigError([("reconcile.output", f"{path} does not exist\n    fix: run migrator diff first")])
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            text = line.strip().rstrip(",")
            if text.startswith("{") and not text.startswith('{"conflicts"'):
                yield json.loads(text)


def _conflict(entry: dict[str, Any]) -> Conflict:
    return Conflict(entry["table"], entry["key"], entry["prodDigest"], entry["devDigest"],
                    tuple(entry["columns"]), entry.get("prodWritten"), entry.get("devWritten"), entry["columns"])


def show(entry: dict[str, Any]) -> str:
    """A conflict side by side: key, write times, each differing column in production and in dev."""
    def cell(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"

    lines = [f"{entry['table']} {json.dumps(entry['key'], ensure_ascii=False, default=str)}",
             f"  written: production {entry.get('prodWritten')}, dev {entry.get('devWritten')}",
             f"  {'':2}{'column':20} {'production (ours)':{WIDTH}} {'dev (theirs)':{WIDTH}}"]
    for name, both in entry["columns"].items():
        lines.append(f"  * {name[:20]:20} {cell(both.get('prod')):{WIDTH}} {cell(both.get('dev')):{WIDTH}}")
    return "\n".join(lines)


def resolve(loaded: LoadedConfig, *, auto: bool = False, resume: bool = False,
            ask: Callable[[str], str] = input, say: Callable[[str], None] = print) -> tuple[int, DiffResult]:
    """Run the session (see the module docstring); returns (conflicts still pending, rebuilt result)."""
    from migrator.reconcile.many import resolve_tables, table_runs

    output = Path(settings_of(loaded.model).output)
    runs = table_runs(loaded)
    if runs is not None:
        return resolve_tables(runs, output, auto=auto, resume=resume, ask=ask, say=say)
    if not auto:
        session(output, resume=resume, ask=ask, say=say)
    result = write_outputs(loaded)
    pending = sum(t.decisions.get(PENDING, 0) for t in result.tables.values())
    return pending, result


def session(output: Path, *, resume: bool, ask: Callable[[str], str], say: Callable[[str], None]) -> bool:
    """Ask about every pending conflict of one table's outputs; True when the person quit (``q``)."""
    resolutions = Resolutions(output / "resolutions.json")
    rest: dict[str, str] = {}  # table -> the decision for the rest of it
    buffered: list[Conflict] = []
    asked = 0
    quit_ = False
    for entry in read_conflicts(output / "conflicts.json"):
        if entry["decision"] != PENDING:
            continue
        conflict = _conflict(entry)
        if resume and resolutions.lookup(conflict) is not None:
            continue
        if conflict.table in rest:
            buffered.append(conflict)
            continue
        asked += 1
        say(f"\nconflict {asked}: " + show(entry))
        answer = _answer(ask, say)
        if answer == "q":
            quit_ = True
            break
        if answer == "s":
            continue
        if answer in ("P", "D"):
            rest[conflict.table] = CHOICES[answer.lower()]
            buffered.append(conflict)
            continue
        resolutions.record(conflict, CHOICES[answer])
    for table, decision in rest.items():
        resolutions.record_many([c for c in buffered if c.table == table], decision)
    say(f"decisions saved to {resolutions.path}")
    return quit_


def _answer(ask: Callable[[str], str], say: Callable[[str], None]) -> str:
    while True:
        try:
            answer = ask(PROMPT).strip()
        except EOFError:
            return "q"
        if answer in ("p", "d", "s", "P", "D", "q"):
            return answer
        say(f"  {answer!r}? answer one of p, d, s, P, D, q")
