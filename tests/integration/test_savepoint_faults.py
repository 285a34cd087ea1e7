"""The savepoint folder fails under a running migration: filled up, remounted read-only, or removed.

The folder is a small tmpfs (``tests/support/mounts.py``; skipped where mounting is not permitted).
Each fault stops the run with exit 3 and a message naming the folder and the errno; the newest
savepoint is left whole and resumes into an exact copy. An unwritable folder at start is refused
before the target is touched. The errno variants are unit-tested (tests/unit/test_files.py); here
one slowed run per fault kind, and one resume (the full folder's).
"""

from __future__ import annotations

import pytest

from migrator.savepoints import newest_savepoint
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.faults import fault_rounds
from tests.support.helpers import assert_same, cli, dump, load_yaml, popen_cli, recreate, wait_for_partial_savepoint
from tests.support.mounts import break_folder, remount, small_tmpfs

pytestmark = pytest.mark.integration

ROWS, SPLITS = 2000, 32
SLOW = {"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "100"}  # about 10 s on 2 cores: time to break the folder
MEANINGS = {"full": "No space left on device (ENOSPC)", "read-only": "Read-only file system (EROFS)",
            "deleted": "No such file or directory (ENOENT)"}


# a deleted folder: the same stop, unit-tested on a real tmpfs (tests/unit/test_files.py); run here in
# the long mode only (MIGRATOR_FAULT_ROUNDS > 1), for CI time
@pytest.mark.parametrize("fault", list(MEANINGS) if fault_rounds() > 1 else ["full", "read-only"])
def test_a_failing_savepoint_folder_stops_the_run_and_the_last_savepoint_resumes(source, target, raw_sessions,
                                                                                make_config, tmp_path, fault):
    table = "sp_fault_" + fault.replace("-", "_")
    recreate(source, target, table, "(k int PRIMARY KEY, v text)")
    from cassandra.concurrent import execute_concurrent_with_args

    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (k, v) VALUES (?, ?)")
    execute_concurrent_with_args(source, insert, [(k, f"v{k}") for k in range(ROWS)], concurrency=64,
                                 raise_on_first_error=True)
    with small_tmpfs(tmp_path / "mnt", "1m") as mount:
        folder = mount / "sp"
        config = make_config(table, source={"splitCount": SPLITS, "preserveTimestamps": True},
                             top={"savepoints": {"path": str(folder), "intervalSeconds": 1}})
        proc = popen_cli("migrate", "--config", str(config), env=SLOW)
        try:
            wait_for_partial_savepoint(folder, proc)
            break_folder(fault, mount, folder)
            kept = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}
            output = proc.communicate(timeout=180)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 3, output
        assert f"could not write a savepoint into {folder}: {MEANINGS[fault]}; the migrate run stopped after" in output
        assert "Traceback" not in output
        if fault == "deleted":
            assert "no savepoint of this run is left, so the next run starts over" in output
            assert not folder.exists()  # not recreated
            return
        newest = newest_savepoint(folder)
        assert newest is not None and {p.name: p.read_bytes() for p in folder.iterdir()} == kept  # no temp file
        assert f"resume with: migrator migrate --config {newest} (it is intact)" in output
        state = load_yaml(newest)["migratorState"]
        assert 0 < state["rangesDone"] < SPLITS
        if fault == "read-only":
            return  # the same whole savepoint as when full: one resume proves it (CI time)
        (mount / "filler").unlink()
        resumed = cli("migrate", "--config", str(newest))
        assert resumed.returncode == 0, resumed.stderr
        assert f"{state['rangesDone']} already done, {SPLITS - state['rangesDone']} to go" in resumed.stderr
        assert load_yaml(newest_savepoint(folder))["migratorState"]["rangesDone"] == SPLITS
    src, tgt = raw_sessions
    assert len(dump(tgt, TARGET_KS, table)) == ROWS
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table))


def test_an_unwritable_savepoint_folder_is_refused_before_the_target_is_touched(source, target, make_config,
                                                                               tmp_path):
    recreate(source, target, "sp_fault_start", "(k int PRIMARY KEY)", create_target=False)
    with small_tmpfs(tmp_path / "mnt") as mount:
        remount(mount, writable=False)
        folder = mount / "savepoints"
        config = make_config("sp_fault_start", top={"savepoints": {"path": str(folder), "intervalSeconds": 1}})
        result = cli("migrate", "--config", str(config))
    assert result.returncode == 3, result.stderr
    assert (f"migrator: error: savepoints cannot be written into {folder}: Read-only file system (EROFS); "
            "nothing was started\n  hint: remount the filesystem read-write, or point the setting at a writable "
            "folder (savepoints.path)") in result.stderr
    assert target.execute("SELECT count(*) FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
                          (TARGET_KS, "sp_fault_start")).one()[0] == 0
