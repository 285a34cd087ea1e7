"""The one local writer (migrator.files): owner-only modes whatever the umask, and storage refusals on real mounts.

The faults are real: a size-limited tmpfs filled to the last page, the same tmpfs remounted
read-only, the savepoint folder removed (``tests/support/mounts.py``; skipped where mounting is not
permitted). No service is needed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.errors import EXIT_RUNTIME
from migrator.files import WriteFailed, atomic_file, make_folder, open_private, write_atomically
from migrator.savepoints import SavepointManager, SavepointWriter, check_writable, list_savepoints
from tests.support.mounts import break_folder, remount, small_tmpfs

FAULTS = {
    "full": (errno.ENOSPC, "No space left on device (ENOSPC)"),
    "read-only": (errno.EROFS, "Read-only file system (EROFS)"),
    "deleted": (errno.ENOENT, "No such file or directory (ENOENT)"),
}


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def permissive_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.fixture()
def mount(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "mnt") as path:
        yield path


def test_new_files_are_0600_and_new_folders_0700(tmp_path: Path, permissive_umask: int) -> None:
    make_folder(tmp_path / "a" / "b")
    write_atomically(tmp_path / "a" / "b" / "state.yaml", "x\n")
    with open_private(tmp_path / "a" / "stream.jsonl") as handle:
        handle.write("{}\n")
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/state.yaml", "a/stream.jsonl")] == \
        [0o700, 0o700, 0o600, 0o600]


def test_a_folder_already_there_keeps_its_mode_and_files_written_into_it_become_0600(tmp_path: Path,
                                                                                    permissive_umask: int) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    folder.chmod(0o755)
    for name in ("replaced.json", "appended.jsonl"):
        (folder / name).write_text("old\n")
        (folder / name).chmod(0o644)
    write_atomically(folder / "replaced.json", "new\n")
    with open_private(folder / "appended.jsonl", append=True) as handle:
        handle.write("more\n")
    assert make_folder(folder) == folder
    assert [mode(folder), mode(folder / "replaced.json"), mode(folder / "appended.jsonl")] == [0o755, 0o600, 0o600]
    assert (folder / "appended.jsonl").read_text() == "old\nmore\n"


def test_a_connection_error_inside_the_block_keeps_its_type_and_leaves_no_temp(tmp_path: Path) -> None:
    with pytest.raises(ConnectionResetError), atomic_file(tmp_path / "split.jsonl") as handle:
        handle.write("half\n")
        raise ConnectionResetError(errno.ECONNRESET, "reset by peer")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_refused_savepoint_write_stops_the_savepoints_and_keeps_the_last_good_one(mount: Path, fault: str) -> None:
    folder = mount / "savepoints"
    failures: list[WriteFailed] = []
    manager = SavepointManager(SavepointWriter(folder), lambda reason: f"# {reason}\n" + "x" * 5000, 3600,
                               on_failure=failures.append)
    first = manager.dump("interval")
    assert first is not None and mode(Path(first)) == 0o600 and mode(folder) == 0o700
    good = Path(first).read_text()
    break_folder(fault, mount, folder)
    code, meaning = FAULTS[fault]
    with pytest.raises(WriteFailed) as raised:
        manager.dump("interval")
    error = raised.value
    assert (error.errno, error.meaning, error.exit_code) == (code, meaning, EXIT_RUNTIME)
    assert error.message.startswith(f"cannot write {folder}/savepoint_") and error.message.endswith(f": {meaning}")
    assert failures == [error] and manager.failure is error
    assert manager.refresh() is None and manager.close("final") is None  # nothing more is attempted
    assert failures == [error]
    if fault == "deleted":
        assert not folder.exists()  # not recreated: its savepoints are gone, the run must say so
    else:
        assert [p.name for p in folder.iterdir()] == [Path(first).name]  # no temp file left
        assert Path(first).read_text() == good


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_refused_rewrite_in_place_leaves_the_savepoint_whole(mount: Path, fault: str) -> None:
    writer = SavepointWriter(mount / "savepoints")
    first = writer.write("first\n")
    break_folder(fault, mount, mount / "savepoints")
    with pytest.raises(WriteFailed, match=rf"^cannot write {first}: {FAULTS[fault][1]}".replace("(", r"\(")
                       .replace(")", r"\)")):
        writer.write("second " * 2000, replace=first)
    assert Path(first).read_text() == "first\n"
    assert list_savepoints(mount / "savepoints") == [first]
    assert [p.name for p in (mount / "savepoints").iterdir()] == [Path(first).name]


@pytest.mark.parametrize("exists", [True, False], ids=["folder-there", "folder-missing"])
def test_an_unwritable_savepoint_folder_is_refused_before_anything_starts(mount: Path, exists: bool) -> None:
    folder = mount / "savepoints"
    if exists:
        folder.mkdir()
    remount(mount, writable=False)
    with pytest.raises(WriteFailed) as raised:
        check_writable(str(folder))
    error = raised.value
    assert error.message == (f"savepoints cannot be written into {folder}: Read-only file system (EROFS); "
                             "nothing was started")
    assert error.hint == ("remount the filesystem read-write, or point the setting at a writable folder "
                          "(savepoints.path)")
    assert error.exit_code == EXIT_RUNTIME and folder.exists() == exists


def test_a_missing_savepoint_folder_is_created_0700_by_the_check(tmp_path: Path, permissive_umask: int) -> None:
    check_writable(str(tmp_path / "deep" / "savepoints"))
    assert [mode(tmp_path / "deep"), mode(tmp_path / "deep" / "savepoints")] == [0o700, 0o700]
    assert list((tmp_path / "deep" / "savepoints").iterdir()) == []  # the probe is gone
