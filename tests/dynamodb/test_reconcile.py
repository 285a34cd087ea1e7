"""Reconcile on DynamoDB: ``migrator diff`` of two diverged tables, with exact counts and decided conflicts.

Runs on both servers (dynalite and moto): it needs only Scan, BatchGetItem and BatchWriteItem.
Dev is the config's source, production its target.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.backends.dynamodb.items import item_digest
from migrator.savepoints import newest_savepoint
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.helpers import ROOT, cli, popen_cli, wait_for_partial_savepoint

pytestmark = pytest.mark.dynamodb

KEY = [("id", "HASH", "S")]


def item(i: int, *, value: str = "same", updated: int = 100) -> dict[str, Any]:
    return {"id": {"S": f"row{i:03d}"}, "v": {"S": value}, "n": {"N": str(i)}, "updatedAt": {"N": str(updated)}}


def diverged(pair: Pair, tmp_path: Path, **reconcile: Any) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    """40 shared rows; dev adds 3 (40-42), production alone has 2 (50, 51), 4 conflicts (0-3).

    Conflicts 0 and 1 were changed later in dev (updatedAt 300 > 200), 2 and 3 later in production.
    """
    dev_table = pair.create("source", pair.table_name("dev"), KEY)
    prod_table = pair.create("target", pair.table_name("prod"), KEY)
    shared = [item(i) for i in range(4, 40)]
    dev = {**{i: item(i, value="dev", updated=300 if i < 2 else 150) for i in range(4)},
           **{i: item(i) for i in range(40, 43)}}
    prod = {**{i: item(i, value="prod", updated=200) for i in range(4)}, **{i: item(i) for i in (50, 51)}}
    put_all(pair.source, dev_table, shared + list(dev.values()))
    put_all(pair.target, prod_table, shared + list(prod.values()))
    output = tmp_path / "reconcile"
    config = pair.config(tmp_path, dev_table, prod_table, source={"scanSegments": 3},
                         reconcile={"output": str(output), **reconcile})
    return config, output, dev, prod


def test_diff_counts_added_removed_and_conflicts_exactly_and_decides_by_newest(servers: Pair, tmp_path: Path) -> None:
    config, output, dev, prod = diverged(servers, tmp_path, strategy="newest", updatedAtAttribute="updatedAt")
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 1, done.stderr
    assert "3 added (only in dev), 2 removed (only in production), 4 conflicts" in done.stderr
    summary = json.loads((output / "summary.json").read_text())
    [(table, counts)] = summary["tables"].items()
    assert table.startswith("prod_") and not summary["identical"]
    assert (counts["added"], counts["removed"], counts["conflicts"]) == (3, 2, 4)
    assert counts["decisions"] == {"keep_prod": 2, "use_dev": 2, "pending": 0}
    conflicts = {c["key"]["id"]["S"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert sorted(conflicts) == ["row000", "row001", "row002", "row003"]
    for i in range(4):
        c = conflicts[f"row{i:03d}"]
        assert c["decision"] == ("use_dev" if i < 2 else "keep_prod") and c["decidedBy"] == "strategy newest"
        assert c["devDigest"] == item_digest(dev[i]) and c["prodDigest"] == item_digest(prod[i])
        assert c["columns"]["v"] == {"prod": {"S": "prod"}, "dev": {"S": "dev"}}
        assert (c["devWritten"], c["prodWritten"]) == (300 if i < 2 else 150, 200)
    assert (output / "summary.txt").read_text().startswith("diff of dev")


def test_identical_tables_diff_clean_and_newest_without_a_time_attribute_is_refused(dynalite: Pair,
                                                                                     tmp_path: Path) -> None:
    dev_table = dynalite.create("source", dynalite.table_name("same"), KEY)
    prod_table = dynalite.create("target", dynalite.table_name("same_prod"), KEY)
    rows = [item(i) for i in range(20)]
    put_all(dynalite.source, dev_table, rows)
    put_all(dynalite.target, prod_table, rows)
    config = dynalite.config(tmp_path, dev_table, prod_table, reconcile={"output": str(tmp_path / "out")})
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["identical"] is True
    refused = dynalite.config(tmp_path, dev_table, prod_table, reconcile={"strategy": "newest"})
    done = cli("diff", "--config", str(refused), timeout=120)
    assert done.returncode == 2 and "updatedAtAttribute" in done.stderr and "Traceback" not in done.stderr


def _expected_production(dev: dict[int, Any], prod: dict[int, Any], *, deletes: bool) -> dict[str, Any]:
    rows = {i: item(i) for i in range(4, 40)} | {i: dev[i] for i in (0, 1, 40, 41, 42)} | {i: prod[i] for i in (2, 3)}
    if not deletes:
        rows |= {i: prod[i] for i in (50, 51)}
    return {repr([r["id"]]): r for r in rows.values()}


def test_the_pack_is_reviewable_and_apply_makes_production_as_decided(servers: Pair, tmp_path: Path) -> None:
    config, output, dev, prod = diverged(servers, tmp_path, strategy="newest", updatedAtAttribute="updatedAt",
                                         allowDeletes=True)
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    pack = output / "pack"
    manifest = json.loads((pack / "pack.json").read_text())
    [entry] = manifest["tables"].values()
    assert {k: entry[k] for k in ("added", "conflictsForDev", "deletes", "deletesDisabled", "keptProduction",
                                  "pending")} == {"added": 3, "conflictsForDev": 2, "deletes": 2,
                                                  "deletesDisabled": 0, "keptProduction": 2, "pending": 0}
    lines = [json.loads(line) for line in (pack / entry["file"]).read_text().splitlines() if not line.startswith("#")]
    assert [c["op"] for c in lines] == ["put"] * 5 + ["delete"] * 2  # deletes last
    dry = cli("apply", "--config", str(config), "--pack", str(pack), "--dry-run", timeout=120)
    assert dry.returncode == 0 and "7 changes would be applied" in dry.stderr, dry.stderr
    assert len(scan_all(servers.target, manifest["production"])) == 42  # the dry run wrote nothing
    done = cli("apply", "--config", str(config), "--pack", str(pack), timeout=120)
    assert done.returncode == 0 and "7 changes were applied" in done.stderr, done.stderr
    assert scan_all(servers.target, manifest["production"]) == _expected_production(dev, prod, deletes=True)
    assert not list((output / "checkpoints").glob("apply_*.yaml"))  # a finished run removes its checkpoint
    again = cli("apply", "--config", str(config), "--pack", str(pack), timeout=120)
    assert again.returncode == 0 and "0 changes were applied, 7 already in place" in again.stderr, again.stderr


def test_a_row_changed_after_the_diff_is_skipped_and_deletes_stay_commented(dynalite: Pair, tmp_path: Path) -> None:
    config, output, dev, prod = diverged(dynalite, tmp_path, strategy="theirs")
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    pack = output / "pack"
    manifest = json.loads((pack / "pack.json").read_text())
    [entry] = manifest["tables"].values()
    text = (pack / entry["file"]).read_text()
    assert entry["deletesDisabled"] == 2 and text.count('\n# {"op":"delete"') == 2
    table = manifest["production"]
    changed = item(2, value="changed in production after the diff", updated=999)
    dynalite.target.put_item(TableName=table, Item=changed)
    done = cli("apply", "--config", str(config), "--pack", str(pack), timeout=120)
    assert done.returncode == 1 and "1 skipped" in done.stderr, done.stderr
    now = scan_all(dynalite.target, table)
    assert now[repr([changed["id"]])] == changed  # never overwritten
    assert now[repr([dev[3]["id"]])] == dev[3] and repr([prod[50]["id"]]) in now  # theirs applied; no delete
    skipped = [json.loads(line) for line in (output / "apply" / "skipped.jsonl").read_text().splitlines()]
    assert [s["key"]["id"]["S"] for s in skipped] == ["row002"]


def run_pty(args: list[str], answer: Any, timeout: float = 120) -> tuple[int, str]:
    """Run the migrator on a pseudo-terminal; ``answer(text since the last prompt)`` types each reply."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "migrator", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=ROOT, start_new_session=True)
    os.close(slave)
    seen, since = b"", b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen, since = seen + chunk, since + chunk
                if b"save and quit: " in since:
                    os.write(master, (answer(since.decode(errors="replace")) + "\n").encode())
                    since = b""
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), seen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def test_conflicts_are_resolved_interactively_saved_at_once_and_resumed(dynalite: Pair, tmp_path: Path) -> None:
    config, output, _, _ = diverged(dynalite, tmp_path, strategy="manual")
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    answers = iter(["d", "p", "q"])
    decided: dict[str, str] = {}

    def first_session(text: str) -> str:
        key = re.findall(r'"S": "(row\d+)"', text)[-1]
        reply = next(answers)
        if reply != "q":
            decided[key] = reply
        return reply

    code, shown = run_pty(["resolve-conflicts", "--config", str(config)], first_session)
    assert code == 1, shown  # two conflicts still pending
    assert "production (ours)" in shown and "dev (theirs)" in shown and '"S": "prod"' in shown
    saved = json.loads((output / "resolutions.json").read_text())["decisions"]
    assert {d["key"]["id"]["S"]: d["decision"] for d in saved} == \
        {k: {"d": "use_dev", "p": "keep_prod"}[v] for k, v in decided.items()}
    asked_again: list[str] = []

    def second_session(text: str) -> str:
        asked_again.append(re.findall(r'"S": "(row\d+)"', text)[-1])
        return "D"  # dev for the rest of the table

    code, shown = run_pty(["resolve-conflicts", "--config", str(config), "--resume"], second_session)
    assert code == 0, shown
    assert len(asked_again) == 1 and asked_again[0] not in decided  # decided ones are not asked again
    conflicts = {c["key"]["id"]["S"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    expected = {k: "use_dev" for k in ("row000", "row001", "row002", "row003")} | \
        {k: "keep_prod" for k, v in decided.items() if v == "p"}
    assert {k: c["decision"] for k, c in conflicts.items()} == expected
    assert all(c["decidedBy"] == "resolutions.json" for c in conflicts.values())
    [entry] = json.loads((output / "pack" / "pack.json").read_text())["tables"].values()
    assert (entry["conflictsForDev"], entry["keptProduction"], entry["pending"]) == (3, 1, 0)
    assert cli("resolve-conflicts", "--config", str(config), "--auto", timeout=120).returncode == 0
    # a row changed since: its decision is void, the conflict is pending again after the next diff
    kept = next(k for k, v in decided.items() if v == "p")
    dynalite.source.put_item(TableName=json.loads((output / "summary.json").read_text())["dev"],
                             Item=item(int(kept[3:]), value="dev changed again", updated=400))
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    summary = json.loads((output / "summary.json").read_text())
    assert summary["voidedDecisions"] == 1
    assert next(iter(summary["tables"].values()))["decisions"] == {"keep_prod": 0, "use_dev": 3, "pending": 1}
    auto = cli("resolve-conflicts", "--config", str(config), "--auto", timeout=120)
    assert auto.returncode == 1 and "1 conflict(s) still pending" in auto.stderr


def test_schema_diff_and_migrate_add_a_missing_gsi(moto: Pair, tmp_path: Path) -> None:
    """moto only: dynalite's UpdateTable wants ProvisionedThroughput for a new GSI even on an on-demand table."""
    servers = moto
    gsi = {"IndexName": "by_v", "KeySchema": [{"AttributeName": "v", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"}}
    dev_table = servers.create("source", servers.table_name("shape"), KEY, GlobalSecondaryIndexes=[gsi])
    prod_table = servers.create("target", servers.table_name("shape_prod"), KEY)
    output = tmp_path / "out"
    config = servers.config(tmp_path, dev_table, prod_table, reconcile={"output": str(output)})
    done = cli("schema-diff", "--config", str(config), timeout=120)
    assert done.returncode == 1 and "global index by_v: only in dev" in done.stderr, done.stderr
    assert cli("schema-migrate", "--config", str(config), timeout=120).returncode == 0
    [request] = [json.loads(line) for line in (output / "schema_migration.jsonl").read_text().splitlines()
                 if not line.startswith("#")]
    assert request["operation"] == "UpdateTable"
    servers.target.update_table(**request["request"])
    deadline = time.monotonic() + 60
    while cli("schema-diff", "--config", str(config), timeout=120).returncode != 0:
        assert time.monotonic() < deadline, (output / "schema_diff.txt").read_text()
        time.sleep(1)


def test_a_diff_stopped_by_sigterm_resumes_from_its_savepoint_to_the_same_counts(dynalite: Pair,
                                                                                 tmp_path: Path) -> None:
    dev_table = dynalite.create("source", dynalite.table_name("long"), KEY)
    prod_table = dynalite.create("target", dynalite.table_name("long_prod"), KEY)
    # dev 0-1999, production 100-2049 with every tenth value changed; 20 segments on one core take seconds
    put_all(dynalite.source, dev_table, [item(i) for i in range(2000)])
    put_all(dynalite.target, prod_table, [item(i, value="prod" if i % 10 == 0 else "same") for i in range(100, 2050)])
    output = tmp_path / "out"
    config = dynalite.config(tmp_path, dev_table, prod_table, source={"scanSegments": 20, "maxMapTasks": 20},
                             reconcile={"output": str(output), "strategy": "theirs"})
    proc = popen_cli("diff", "--config", str(config), "--master", "local[1]")
    wait_for_partial_savepoint(tmp_path / "savepoints", proc)
    os.killpg(proc.pid, signal.SIGTERM)
    printed, _ = proc.communicate(timeout=120)
    assert proc.returncode == 4
    savepoint = newest_savepoint(tmp_path / "savepoints")
    assert savepoint is not None and "resume with: migrator diff" in savepoint.read_text()
    assert "resume with: migrator diff --config" in printed, printed  # not validate: it writes no differences
    done = cli("diff", "--config", str(savepoint), timeout=300)
    assert done.returncode == 1, done.stderr
    counts = next(iter(json.loads((output / "summary.json").read_text())["tables"].values()))
    assert (counts["added"], counts["removed"], counts["conflicts"]) == (100, 50, 190)
