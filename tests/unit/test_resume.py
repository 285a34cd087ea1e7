"""Resume without hand-work (migrator.resume): which savepoint a plain config continues, if any."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.config import load_config
from migrator.resume import resume_point
from migrator.savepoints import savepoint_name


def config_tree(folder: Path, table: str = "users", **savepoints: Any) -> dict[str, Any]:
    side = {"type": "cassandra", "host": "127.0.0.1", "port": 9042, "keyspace": "shop", "table": table,
            "credentials": {"username": "u", "password": "s3cret"}, "consistencyLevel": "LOCAL_QUORUM"}
    return {"source": {**side, "fetchSize": 1000, "preserveTimestamps": False},
            "target": {**side, "host": "127.0.0.2", "stripTrailingZerosForDecimals": False},
            "savepoints": {"path": str(folder), "intervalSeconds": 60, **savepoints}}


def load(tree: dict[str, Any]) -> Any:
    return load_config(yaml.safe_dump(tree))


def save(folder: Path, n: int, tree: dict[str, Any], *, command: str = "migrate", done: int = 2,
         total: int = 8, redacted: bool = True) -> Path:
    kind = "migrate" if command == "migrate" else "validate"
    data = {**tree, "skipTokenRanges": [[n * 10, n * 10 + 5]],
            "migratorState": {"kind": kind, "command": command, "rangesDone": done, "rangesTotal": total,
                              "splitCount": total}}
    if redacted:  # as savepoints hold literal secrets
        data["source"] = {**data["source"], "credentials": {"username": "u", "password": "<redacted>"}}
    path = folder / savepoint_name(1_700_000_000_000 + n, 0)
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_plain_config_continues_its_jobs_newest_savepoint_with_its_own_secrets(tmp_path, caplog):
    tree = config_tree(tmp_path)
    save(tmp_path, 1, tree)
    newest = save(tmp_path, 2, tree, done=5)
    with caplog.at_level(logging.INFO, logger="migrator.resume"):
        resumed = resume_point(load(tree), "migrate")
    assert resumed.model.migrator_state.ranges_done == 5
    assert resumed.model.skip_token_ranges == [(20, 25)]
    assert resumed.model.source.credentials.password == "s3cret"  # the savepoint's is redacted
    assert f"resuming from {newest} (5 of 8 ranges done); --fresh starts over" in caplog.text


def test_nothing_to_resume_leaves_the_config_as_given(tmp_path):
    loaded = load(config_tree(tmp_path))
    assert resume_point(loaded, "migrate") is loaded
    assert resume_point(load(config_tree(tmp_path / "missing")), "migrate").model.migrator_state is None


@pytest.mark.parametrize("how", ["fresh", "autoResume false"])
def test_fresh_and_auto_resume_off_start_over(tmp_path, how):
    tree = config_tree(tmp_path, **({"autoResume": False} if how != "fresh" else {}))
    save(tmp_path, 1, tree)
    loaded = load(tree)
    assert resume_point(loaded, "migrate", fresh=how == "fresh") is loaded


def test_savepoints_of_other_commands_and_tables_are_passed_over(tmp_path):
    tree = config_tree(tmp_path)
    save(tmp_path, 1, tree, command="diff")
    save(tmp_path, 2, tree, command="validate", done=3)
    save(tmp_path, 3, config_tree(tmp_path, table="orders"), command="validate", done=4)
    save(tmp_path, 4, tree, command="migrate", done=6)
    # diff and validate share the kind "validate"; each resumes only its own command's savepoints
    assert resume_point(load(tree), "validate").model.migrator_state.ranges_done == 3
    assert resume_point(load(tree), "diff").model.migrator_state.ranges_done == 2
    assert resume_point(load(config_tree(tmp_path, table="orders")), "validate").model.migrator_state.ranges_done == 4


def test_a_finished_run_starts_over_even_with_older_unfinished_savepoints(tmp_path, caplog):
    tree = config_tree(tmp_path)
    save(tmp_path, 1, tree, done=3)
    save(tmp_path, 2, tree, done=8)
    loaded = load(tree)
    with caplog.at_level(logging.INFO, logger="migrator.resume"):
        assert resume_point(loaded, "migrate") is loaded
    assert "is of a finished run: starting over" in caplog.text


def test_a_streaming_run_with_shards_to_read_is_resumed_though_its_snapshot_finished(tmp_path):
    tree = config_tree(tmp_path)
    path = save(tmp_path, 1, tree, done=8)
    data = yaml.safe_load(path.read_text())
    shards = {"s1": {"after": "12", "done": True, "parents": []}, "s2": {"after": None, "done": False, "parents": []}}
    data["migratorState"]["stream"] = {"type": "dynamodb-streams", "arn": "arn:x", "shards": shards}
    path.write_text(yaml.safe_dump(data))
    resumed = resume_point(load(tree), "migrate")
    assert resumed.model.migrator_state.stream["shards"]["s1"]["after"] == "12"
    shards["s2"]["done"] = True  # every shard ended: the stream is over, so is the run
    path.write_text(yaml.safe_dump(data))
    loaded = load(tree)
    assert resume_point(loaded, "migrate") is loaded


def test_an_unreadable_savepoint_is_skipped_with_a_warning(tmp_path, caplog):
    tree = config_tree(tmp_path)
    save(tmp_path, 1, tree, done=3)
    (tmp_path / savepoint_name(1_700_000_000_009, 0)).write_bytes(b"\xff\xfe: [unclosed")
    (tmp_path / savepoint_name(1_700_000_000_010, 0)).write_text("just text\n")
    with caplog.at_level(logging.WARNING, logger="migrator.resume"):
        assert resume_point(load(tree), "migrate").model.migrator_state.ranges_done == 3
    assert caplog.text.count("skipped") == 2


def test_a_savepoint_given_as_the_config_is_used_as_it_is(tmp_path):
    tree = config_tree(tmp_path)
    older = save(tmp_path, 1, tree, done=1, redacted=False)
    save(tmp_path, 2, tree, done=6)
    loaded = load_config(older)
    assert resume_point(loaded, "migrate") is loaded
