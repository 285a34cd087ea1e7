"""Apply checkpoints: fresh starts, resumes, mismatches, expiry, edits, and loading one back as config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from migrator.config import load_config
from migrator.errors import EXIT_CONFIG, ConfigError
from migrator.reconcile.checkpoints import MISMATCH, Checkpoints, config_hash
from tests.unit.config.helpers import cql_tree, to_yaml

T0 = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def checkpoints(tmp_path: Path, clock: Clock, raw: dict[str, Any] | None = None, hours: float = 24) -> Checkpoints:
    return Checkpoints(tmp_path / "checkpoints", raw or cql_tree(), expiry_hours=hours, now=clock)


def run_some(cps: Checkpoints, pack: str, done: int) -> Path:
    checkpoint = cps.begin(pack, resume=False)
    progress = checkpoint.progress("demo.events", 10)
    progress.done, progress.applied = done, done
    cps.save(checkpoint)
    return checkpoint.path


def test_a_fresh_run_writes_only_after_a_batch_and_a_resume_continues_from_it(tmp_path):
    clock = Clock()
    cps = checkpoints(tmp_path, clock)
    first = cps.begin(str(tmp_path / "pack"), resume=False)
    assert not first.resumed and cps.files() == []  # nothing claimed before a batch was acknowledged
    progress = first.progress("demo.events", 10)
    progress.done = progress.applied = 4
    clock.now += dt.timedelta(minutes=5)
    cps.save(first)
    [written] = cps.files()
    text = written.read_text()
    assert text.startswith("# migrator apply checkpoint") and "do not raise 'done'" in text
    again = cps.begin(str(tmp_path / "pack"), resume=True)
    assert again.resumed and again.path == written
    assert again.progress("demo.events", 10).done == 4
    assert again.state.created_at == "2026-12-02T12:00:00+00:00" and again.state.updated_at.endswith("12:05:00+00:00")
    assert "resuming from checkpoint" in again.notices[0] and "demo.events 4/10" in again.notices[0]


def test_without_resume_earlier_checkpoints_are_removed_with_a_notice(tmp_path):
    clock = Clock()
    cps = checkpoints(tmp_path, clock)
    run_some(cps, str(tmp_path / "pack"), 3)
    fresh = cps.begin(str(tmp_path / "pack"), resume=False)
    assert cps.files() == [] and not fresh.resumed and "removed 1 earlier checkpoint" in fresh.notices[0]


def test_a_changed_config_is_refused_with_the_documented_message(tmp_path):
    clock = Clock()
    run_some(checkpoints(tmp_path, clock), str(tmp_path / "pack"), 3)
    changed = cql_tree()
    changed["source"]["fetchSize"] = 5000
    with pytest.raises(ConfigError) as raised:
        checkpoints(tmp_path, clock, changed).begin(str(tmp_path / "pack"), resume=True)
    assert raised.value.exit_code == EXIT_CONFIG
    assert MISMATCH in raised.value.message and "without --resume to start fresh" in raised.value.message
    assert MISMATCH == "checkpoint config mismatch — config file has changed since checkpoint was created."


def test_an_expired_checkpoint_is_deleted_with_a_notice_and_the_run_starts_fresh(tmp_path):
    clock = Clock()
    cps = checkpoints(tmp_path, clock, hours=2)
    run_some(cps, str(tmp_path / "pack"), 3)
    clock.now += dt.timedelta(hours=2, seconds=1)
    fresh = cps.begin(str(tmp_path / "pack"), resume=True)
    assert not fresh.resumed and cps.files() == []
    assert "expired" in fresh.notices[0] and "more than 2 h ago" in fresh.notices[0]


def test_resuming_another_pack_is_refused(tmp_path):
    clock = Clock()
    cps = checkpoints(tmp_path, clock)
    run_some(cps, str(tmp_path / "pack"), 3)
    with pytest.raises(ConfigError, match="applies the pack"):
        cps.begin(str(tmp_path / "other-pack"), resume=True)


def test_a_finished_run_removes_its_checkpoint_and_a_failed_one_keeps_it(tmp_path):
    clock = Clock()
    cps = checkpoints(tmp_path, clock)
    path = run_some(cps, str(tmp_path / "pack"), 3)
    assert path.exists()  # a run that stops here (failure, kill) leaves it
    cps.finish(cps.begin(str(tmp_path / "pack"), resume=True))
    assert not path.exists()


def test_a_lowered_done_is_honoured_and_a_broken_edit_is_named(tmp_path):
    clock = Clock()
    cps = checkpoints(tmp_path, clock)
    path = run_some(cps, str(tmp_path / "pack"), 7)
    path.write_text(path.read_text().replace("done: 7", "done: 2"))
    assert cps.begin(str(tmp_path / "pack"), resume=True).progress("demo.events", 10).done == 2
    path.write_text(path.read_text().replace("done: 2", "done: two"))
    with pytest.raises(ConfigError, match=f"the checkpoint {path} cannot be read"):
        cps.begin(str(tmp_path / "pack"), resume=True)


def test_the_checkpoint_file_loads_back_as_the_config_and_resumes(tmp_path):
    clock = Clock()
    raw = cql_tree()
    cps = checkpoints(tmp_path, clock, raw)
    path = run_some(cps, str(tmp_path / "pack"), 5)
    loaded = load_config(path)
    assert loaded.model.apply_checkpoint is not None
    assert config_hash(loaded.raw) == config_hash(raw)  # the state block is not part of the config's identity
    again = Checkpoints(tmp_path / "checkpoints", loaded.raw, expiry_hours=24, now=clock).begin(
        str(tmp_path / "pack"), resume=False, embedded=loaded.model.apply_checkpoint)
    assert again.resumed and again.progress("demo.events", 10).done == 5


def test_the_config_hash_ignores_literal_secrets_and_savepoint_state(tmp_path):
    with_secret = cql_tree()
    with_secret["target"]["credentials"] = {"username": "u", "password": "one"}
    other_secret = cql_tree()
    other_secret["target"]["credentials"] = {"username": "u", "password": "two"}
    assert config_hash(with_secret) == config_hash(other_secret)
    assert config_hash(cql_tree()) == config_hash({**cql_tree(), "migratorState": {"kind": "migrate"}})
    assert to_yaml(cql_tree())  # the helper's tree is a loadable config


def test_a_checkpoint_is_owner_only_and_holds_no_secret(tmp_path):
    """Literal secrets become <redacted>, ${VAR} references stay; the file and the folder it made are private."""
    import os

    raw = cql_tree()
    raw["source"]["credentials"] = {"username": "u", "password": "literal-pw-9c1"}
    raw["target"]["credentials"] = {"username": "u", "password": "${TARGET_PW}"}
    raw["target"]["sslOptions"] = {"enabled": False, "clientAuthEnabled": False,
                                   "trustStorePassword": "trust-pw-9c1", "keyStorePassword": "key-pw-9c1"}
    old = os.umask(0)
    try:
        path = run_some(checkpoints(tmp_path, Clock(), raw), str(tmp_path / "pack"), 3)
    finally:
        os.umask(old)
    text = path.read_text()
    assert [s for s in ("literal-pw-9c1", "trust-pw-9c1", "key-pw-9c1") if s in text] == []
    assert text.count("<redacted>") == 3 and "${TARGET_PW}" in text
    assert [path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777] == [0o600, 0o700]
