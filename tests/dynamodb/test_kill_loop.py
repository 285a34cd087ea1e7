"""SIGKILL a DynamoDB migrate, then an apply, at random moments; resume each by running it again.

dynalite (its tables outlive restarts, and it reports the capacity the pace is measured in). The
migrate resumes from its savepoints into an exact copy. Then dev (the source) changes every item and
the pack of a diff is applied under kills: apply's checkpoints mean no batch is applied twice, so at
most the batches in flight at a kill find their rows already changed ("already in place"), none is skipped, and
production ends equal to dev. The secret key, given as ``${VAR}``, appears in no output and no file
(savepoints, checkpoints, pack, conflicts). Seeds and the long mode: see ``tests/support/faults.py``.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest
import yaml

from migrator.reconcile.apply import IN_FLIGHT
from migrator.savepoints import newest_savepoint
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.faults import KillLoop, Run, fault_random, fault_rounds
from tests.support.helpers import cli

pytestmark = pytest.mark.dynamodb

ITEMS, SEGMENTS, BATCH = 1200, 12, 10
SLOW = {"readThroughput": 6, "throughputReadPercent": 0.5, "scanSegments": SEGMENTS}  # ~12 s of scanning
KILLS = {"migrate": 2, "apply": 3}  # per round; with the CQL loop, 10 kills per CI run


def _items(version: int) -> list[dict[str, dict[str, str]]]:
    return [{"id": {"S": f"k{i}"}, "v": {"S": f"{version}-" + "x" * 200}, "n": {"N": str(i * version)}}
            for i in range(ITEMS)]


class CheckpointAdvanced:
    """True once a run's apply checkpoint has moved on by a random number of batches since the run began.

    apply is not paced and may take a second or two in all, so its kills are placed by progress, not
    by the clock: each lands after 1 to ``most`` batches of the run, so every kill hits a running apply.
    """

    def __init__(self, checkpoints: Path, rng: random.Random, most: int) -> None:
        self.checkpoints, self.rng, self.most = checkpoints, rng, most
        self.run: Run | None = None
        self.target = 0

    def __call__(self, run: Run) -> bool:
        if run is not self.run:
            self.run, self.target = run, (self.done() or 0) + BATCH * self.rng.randint(1, self.most)
        done = self.done()
        return done is not None and done >= self.target

    def done(self) -> int | None:
        """Changes the newest checkpoint counts as done; None while it is being replaced."""
        for path in sorted(self.checkpoints.glob("apply_*.yaml"), reverse=True):
            try:
                tables = yaml.safe_load(path.read_text())["applyCheckpoint"]["tables"]
                return sum(t["done"] for t in tables.values())
            except (OSError, TypeError, KeyError, yaml.YAMLError):
                return None
        return 0


def test_random_sigkills_of_migrate_and_apply_then_running_them_again_leave_production_equal_to_dev(
        dynalite: Pair, tmp_path: Path) -> None:
    rng = fault_random("DynamoDB kill loop")
    for round_ in range(fault_rounds()):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        src = dynalite.create("source", dynalite.table_name("loop"), [("id", "HASH", "S")])
        put_all(dynalite.source, src, _items(1))
        dst = dynalite.table_name("loop_copy")
        output = folder / "reconcile"
        config = dynalite.config(folder, src, dst, source=SLOW, reconcile={
            "output": str(output), "strategy": "theirs", "applyBatchRows": BATCH})
        fast = folder / "fast.yaml"  # the same job without the pace, for the runs that finish it
        tree = yaml.safe_load(config.read_text())
        tree["source"] = {k: v for k, v in tree["source"].items()
                          if k not in ("readThroughput", "throughputReadPercent")}
        fast.write_text(yaml.safe_dump(tree, sort_keys=False))

        migrate = KillLoop(["migrate", "--config", str(config)], rng, work_s=12 / (KILLS["migrate"] + 1))
        migrate.kill_runs(KILLS["migrate"])
        newest = newest_savepoint(folder / "savepoints")
        finished = migrate.finish(args=["migrate", "--config", str(fast)])
        assert newest is None or f"resuming from {newest}" in finished
        assert scan_all(dynalite.target, dst) == scan_all(dynalite.source, src)

        put_all(dynalite.source, src, _items(2))  # dev changes every item
        diff = cli("diff", "--config", str(fast), timeout=300)
        assert diff.returncode == 1, diff.stderr
        apply = KillLoop(["apply", "--config", str(fast), "--pack", str(output / "pack"), "--resume"], rng,
                         work_s=0.02, early_s=1.0, working=CheckpointAdvanced(output / "checkpoints", rng,
                                                                 most=ITEMS // BATCH // (KILLS["apply"] + 1)))
        apply.kill_runs(KILLS["apply"])
        checkpoints = sorted((output / "checkpoints").glob("apply_*.yaml"))
        if checkpoints:  # the last run resumes by naming the checkpoint, as its header says
            done = apply.finish(args=["apply", "--config", str(checkpoints[-1]), "--pack", str(output / "pack"),
                                      "--resume"])
            assert "resuming from checkpoint" in done
        else:
            done = apply.finish()
        [line] = [x for x in done.splitlines() if "changes were applied" in x]
        applied, already, skipped = map(int, re.findall(r"([\d,]+) (?:changes were applied|already|skipped)",
                                                        line.replace(",", "")))
        assert (applied + already, skipped) == (ITEMS, 0), done
        assert already <= apply.landed * BATCH * IN_FLIGHT  # at most the batches in flight at each kill
        assert scan_all(dynalite.target, dst) == scan_all(dynalite.source, src)
        assert (migrate.landed, apply.landed) == (KILLS["migrate"], KILLS["apply"]), (migrate.moments, apply.moments)
        secret = os.environ["MIGRATOR_TEST_DDB_SECRET_KEY"]  # given as ${VAR}: in no output, no file
        assert not [o for o in [*migrate.outputs, *apply.outputs, diff.stdout, diff.stderr] if secret in o]
        assert not [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        print(f"round {round_}: migrate killed at {migrate.moments}, apply at {apply.moments}; "
              f"{applied} applied, {already} already in place")
