"""The hard-kill check: SIGKILL a migration half way, count the splits its resume must re-do.

``migrator migrate`` runs as its own process group (driver, Spark JVM, Python workers). Once the
newest savepoint says half the splits are done, the whole group is killed with SIGKILL: nothing
can be flushed. A split is *re-done* when the killed run had written rows into it but the savepoint
does not list it as finished; the target table tells which splits received rows. The resume then
runs from the newest savepoint and a validation must find the two tables equal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from migrator.config import load_config
from migrator.planning import tokens
from migrator.savepoints import newest_savepoint

POLL_SECONDS = 0.2


def _migrate(config: Path, master: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "migrator", "migrate", "--config", str(config),
                                 "--master", master], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _state(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return yaml.safe_load(path.read_text()).get("migratorState") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return {}


def kill_and_resume(config: Path, savepoints: Path, tgt_session: Any, target_table: str, master: str,
                    work: Path) -> dict[str, Any]:
    """Run, SIGKILL at half way, resume; returns what was measured (see the module docstring)."""
    log = work / "resume-check.log"
    proc = _migrate(config, master, log)
    total = None
    while proc.poll() is None:
        state = _state(newest_savepoint(savepoints))
        total = state.get("rangesTotal")
        if total and state.get("rangesDone", 0) >= total // 2:
            break
        time.sleep(POLL_SECONDS)
    if proc.poll() is not None:
        raise RuntimeError(f"the migration ended (exit {proc.returncode}) before it could be killed; see {log}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = newest_savepoint(savepoints)
    assert killed_at is not None
    state = _state(killed_at)
    model = load_config(killed_at.read_text()).model
    murmur3 = tokens.partitioner_for("org.apache.cassandra.dht.Murmur3Partitioner")
    plan = tokens.plan(murmur3, int(state["splitCount"]), tokens.skip_ranges(model.skip_token_ranges, murmur3))
    redone = 0
    for split in plan.pending:
        for piece in split.pieces:
            found = tgt_session.execute(
                f"SELECT id FROM {target_table} WHERE token(id) > %s AND token(id) <= %s LIMIT 1",
                (piece.start, piece.end),
            ).one()
            if found is not None:
                redone += 1
                break
    started = time.monotonic()
    resumed = _migrate(killed_at, master, log)
    code = resumed.wait()
    if code != 0:
        raise RuntimeError(f"the resumed migration exited with {code}; see {log}")
    return {"ranges_total": state.get("rangesTotal"), "done_at_kill": state.get("rangesDone"),
            "redone": redone, "resume_seconds": time.monotonic() - started}
