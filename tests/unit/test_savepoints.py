"""Savepoint files: names, ordering, seeding, atomic writes, the timer, close and signals."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from migrator import savepoints
from migrator.errors import ConfigError
from migrator.savepoints import (
    RemoteSavepointPathError,
    SavepointManager,
    SavepointWriter,
    list_savepoints,
    local_directory,
    newest_savepoint,
    parse_savepoint_name,
    savepoint_name,
)
from tests.support.waiting import wait_until

NOW = 1_700_000_000_123  # 2023-11-14, epoch milliseconds


def fixed_clock(value: int = NOW):
    return lambda: value


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- names -------------------------------------------------------------------------------------


def test_savepoint_name_format() -> None:
    assert savepoint_name(1_700_000_000_123, 7) == "savepoint_1700000000123_0000000007.yaml"
    assert savepoint_name(5, 0) == "savepoint_0000000000005_0000000000.yaml"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("savepoint_1700000000123_0000000007.yaml", (1_700_000_000_123, 7)),
        ("savepoint_1700000000.yaml", (1_700_000_000_000, -1)),
        ("savepoint_99999999999999999999_0000000000.yaml", None),  # >= 2**62: hostile
        ("savepoint_0000000000001_9999999999999999999999.yaml", None),
        ("savepoint_123.yml", None),
        ("savepoint_abc.yaml", None),
        (".savepoint_1700000000123_0000000007.yaml.tmp", None),
        ("xsavepoint_1.yaml", None),
    ],
)
def test_parse_savepoint_name(name: str, key: tuple[int, int] | None) -> None:
    assert parse_savepoint_name(name) == key


def test_local_directory() -> None:
    assert local_directory("file:///tmp/sp") == Path("/tmp/sp")
    assert local_directory("file:/tmp/sp") == Path("/tmp/sp")
    assert local_directory("file://localhost/tmp/sp") == Path("/tmp/sp")
    assert local_directory("relative/sp") == Path("relative/sp")
    with pytest.raises(RemoteSavepointPathError, match=r"local folder or to S3 \(s3://, s3a://\), not to gs://"):
        local_directory("gs://bucket/prefix")
    with pytest.raises(ConfigError):
        local_directory("s3a://bucket/prefix")  # S3 has a writer of its own
    with pytest.raises(NotImplementedError):
        local_directory("hdfs://nn/x")


# --- the writer ---------------------------------------------------------------------------------


def test_writer_creates_the_directory_and_writes_the_text(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    writer = SavepointWriter(directory, clock=fixed_clock())
    path = writer.write("source: x\n# é\n")
    assert directory.is_dir()
    assert path == directory / "savepoint_1700000000123_0000000000.yaml"
    assert path.read_text(encoding="utf-8") == "source: x\n# é\n"
    assert names(directory) == [path.name]


def test_many_dumps_in_one_millisecond_stay_strictly_increasing(tmp_path: Path) -> None:
    writer = SavepointWriter(tmp_path, clock=fixed_clock())
    written = [writer.write(f"n: {i}\n").name for i in range(120)]
    assert written == sorted(written)
    assert len(set(written)) == 120
    assert written[0] == "savepoint_1700000000123_0000000000.yaml"
    assert written[-1] == "savepoint_1700000000123_0000000119.yaml"
    assert [p.name for p in list_savepoints(tmp_path)] == written
    assert newest_savepoint(tmp_path) == tmp_path / written[-1]
    assert newest_savepoint(tmp_path / "missing") is None


def test_clock_going_backwards_keeps_names_increasing(tmp_path: Path) -> None:
    times = iter([NOW, NOW - 3_600_000, NOW + 1])
    writer = SavepointWriter(tmp_path, clock=lambda: next(times))
    written = [writer.write("x").name for _ in range(3)]
    assert written == [
        "savepoint_1700000000123_0000000000.yaml",
        "savepoint_1700000000123_0000000001.yaml",
        "savepoint_1700000000124_0000000000.yaml",
    ]


def test_writer_seeds_from_existing_files(tmp_path: Path) -> None:
    (tmp_path / "savepoint_1800000000000_0000000004.yaml").write_text("newer clock")
    (tmp_path / "savepoint_1600000000.yaml").write_text("legacy")
    writer = SavepointWriter(tmp_path, clock=fixed_clock())
    assert writer.write("x").name == "savepoint_1800000000000_0000000005.yaml"


def test_writer_seeds_after_a_legacy_file(tmp_path: Path) -> None:
    (tmp_path / "savepoint_1700000000.yaml").write_text("legacy")
    writer = SavepointWriter(tmp_path, clock=fixed_clock(1_700_000_000_000))
    new = writer.write("x")
    assert new.name == "savepoint_1700000000000_0000000000.yaml"
    assert [p.name for p in list_savepoints(tmp_path)] == ["savepoint_1700000000.yaml", new.name]
    assert names(tmp_path) == ["savepoint_1700000000.yaml", new.name]  # lexical order agrees


def test_writer_ignores_hostile_names(tmp_path: Path) -> None:
    hostile = "savepoint_9999999999999999999_0000000000.yaml"
    (tmp_path / hostile).write_text("hostile")
    (tmp_path / "savepoint_1700000000000_9999999999.yaml").write_text("counter at its limit")
    writer = SavepointWriter(tmp_path, clock=fixed_clock(1_600_000_000_000))
    new = writer.write("x")
    # the counter keeps its 10 digits: the millisecond moves on instead
    assert new.name == "savepoint_1700000000001_0000000000.yaml"
    assert newest_savepoint(tmp_path) == new
    assert (tmp_path / hostile).read_text() == "hostile"


def test_failed_replace_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = SavepointWriter(tmp_path, clock=fixed_clock())
    first = writer.write("first")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        writer.write("second")
    monkeypatch.undo()
    assert names(tmp_path) == [first.name]
    assert first.read_text() == "first"


def test_failed_fsync_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = SavepointWriter(tmp_path, clock=fixed_clock())

    def broken_fsync(fd: int) -> None:
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        writer.write("text")
    monkeypatch.undo()
    assert names(tmp_path) == []


# --- the manager --------------------------------------------------------------------------------


class Renderer:
    """Renders the reason and a sequence number; can be told to fail."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail = False

    def __call__(self, reason: str) -> str:
        self.calls.append(reason)
        if self.fail:
            raise RuntimeError("cannot render")
        return f"reason: {reason}\nseq: {len(self.calls)}\n"


def test_manager_rejects_bad_interval(tmp_path: Path) -> None:
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number of seconds"):
            SavepointManager(SavepointWriter(tmp_path), Renderer(), bad)


def test_render_failure_writes_nothing(tmp_path: Path) -> None:
    render = Renderer()
    manager = SavepointManager(SavepointWriter(tmp_path), render, 60)
    first = manager.dump("manual")
    assert first is not None
    render.fail = True
    with pytest.raises(RuntimeError, match="cannot render"):
        manager.dump("manual")
    assert names(tmp_path) == [first.name]
    assert first.read_text() == "reason: manual\nseq: 1\n"
    manager.close()


def test_interval_dumps_and_final_dump_is_newest(tmp_path: Path) -> None:
    render = Renderer()
    with SavepointManager(SavepointWriter(tmp_path), render, 0.05) as manager:
        wait_until(lambda: len(list_savepoints(tmp_path)) >= 3)
    assert manager.closed
    files = list_savepoints(tmp_path)
    assert render.calls[:3] == ["interval"] * 3
    assert render.calls[-1] == "final"
    assert files[-1] == manager.last_path
    assert files[-1].read_text().startswith("reason: final\n")
    assert len(files) == len(render.calls)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    time.sleep(0.15)
    assert len(list_savepoints(tmp_path)) == len(files)  # the timer stopped


def test_failed_scheduled_dump_is_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    render = Renderer()
    render.fail = True
    manager = SavepointManager(SavepointWriter(tmp_path), render, 0.05)
    with caplog.at_level(logging.ERROR, logger="migrator.savepoints"):
        manager.start()
        wait_until(lambda: len(render.calls) >= 2)
        render.fail = False
        wait_until(lambda: len(list_savepoints(tmp_path)) >= 1)
    manager.close()
    assert "could not write a scheduled savepoint; retrying in 0.05 s" in caplog.text
    assert list_savepoints(tmp_path)[0].read_text().startswith("reason: interval\n")


def test_no_dump_after_close(tmp_path: Path) -> None:
    render = Renderer()
    manager = SavepointManager(SavepointWriter(tmp_path), render, 60)
    final = manager.close("completed")
    assert final is not None and final.read_text() == "reason: completed\nseq: 1\n"
    assert manager.dump("late") is None
    assert manager.close("final") is None
    assert render.calls == ["completed"]
    assert list_savepoints(tmp_path) == [final]
    with pytest.raises(RuntimeError, match="closed"):
        manager.start()


def test_refresh_rewrites_the_newest_savepoint_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(savepoints, "MAX_REFRESH_SHARE", float("inf"))  # no spacing
    render = Renderer()
    manager = SavepointManager(SavepointWriter(tmp_path), render, 60)
    first = manager.refresh()  # no savepoint yet in this run: a new file
    assert first is not None and list_savepoints(tmp_path) == [first]
    assert manager.refresh() == first and manager.refresh() == first
    assert first.read_text() == "reason: progress\nseq: 3\n"
    second = manager.dump("interval")  # a new file each interval, refreshed from then on
    assert second is not None and second != first
    assert manager.refresh() == second
    assert list_savepoints(tmp_path) == [first, second]
    assert second.read_text() == "reason: progress\nseq: 5\n"
    assert manager.writes == 5 and manager.write_seconds > 0
    final = manager.close("final")
    assert manager.refresh() is None
    assert list_savepoints(tmp_path) == [first, second, final]
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_refreshes_are_spaced_to_cost_a_bounded_share_of_the_time(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(savepoints, "MAX_REFRESH_SHARE", 0.5)
    render = Renderer()
    manager = SavepointManager(SavepointWriter(tmp_path), lambda reason: (time.sleep(0.1), render(reason))[1], 60)
    assert manager.refresh() is not None  # took ~0.1 s: the next one may come 0.2 s after it
    assert manager.refresh() is None
    time.sleep(0.25)
    assert manager.refresh() is not None
    assert manager.dump("interval") is not None  # scheduled dumps are never spaced
    manager.close()


def test_refresh_skips_while_another_dump_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(savepoints, "MAX_REFRESH_SHARE", float("inf"))
    manager = SavepointManager(SavepointWriter(tmp_path), Renderer(), 60)
    holder = threading.Thread(target=lambda: (manager._acquire(None), time.sleep(0.3), manager._release()))
    holder.start()
    time.sleep(0.05)
    assert manager.refresh() is None
    holder.join()
    assert manager.refresh() is not None
    manager.close()


def test_close_without_reason_writes_nothing(tmp_path: Path) -> None:
    manager = SavepointManager(SavepointWriter(tmp_path), Renderer(), 60)
    manager.start()
    assert manager.close() is None
    assert list_savepoints(tmp_path) == []


def test_final_dump_waits_for_a_running_dump(tmp_path: Path) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow_render(reason: str) -> str:
        if reason == "interval":
            started.set()
            release.wait(5)
        return reason

    manager = SavepointManager(SavepointWriter(tmp_path), slow_render, 0.01)
    manager.start()
    assert started.wait(5)
    threading.Timer(0.1, release.set).start()
    final = manager.close("final")
    files = list_savepoints(tmp_path)
    assert [p.read_text() for p in files] == ["interval", "final"]
    assert files[-1] == final


def test_exception_in_block_still_writes_final(tmp_path: Path) -> None:
    with pytest.raises(KeyError), SavepointManager(SavepointWriter(tmp_path), Renderer(), 60):
        raise KeyError("boom")
    [only] = list_savepoints(tmp_path)
    assert only.read_text() == "reason: final\nseq: 1\n"


def test_sigterm_dumps_calls_back_and_restores_handlers(tmp_path: Path) -> None:
    def previous_handler(signum: int, frame: object) -> None:
        raise AssertionError("the previous handler must not run while the manager is installed")

    old_term = signal.signal(signal.SIGTERM, previous_handler)
    old_int = signal.getsignal(signal.SIGINT)
    render = Renderer()
    seen: list[str] = []
    manager = SavepointManager(SavepointWriter(tmp_path), render, 60, on_signal=seen.append)
    try:
        manager.install_signal_handlers()
        assert manager.interrupted_by is None
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(lambda: manager.interrupted_by is not None)
        assert manager.interrupted_by == "SIGTERM"
        assert seen == ["SIGTERM"]
        assert render.calls == ["SIGTERM"]
        manager.close("final")
        assert signal.getsignal(signal.SIGTERM) is previous_handler
        assert signal.getsignal(signal.SIGINT) is old_int
    finally:
        manager.close()
        signal.signal(signal.SIGTERM, old_term)
    files = list_savepoints(tmp_path)
    assert [p.read_text() for p in files] == ["reason: SIGTERM\nseq: 1\n", "reason: final\nseq: 2\n"]
    assert seen == ["SIGTERM"]


def test_install_signal_handlers_needs_the_main_thread(tmp_path: Path) -> None:
    manager = SavepointManager(SavepointWriter(tmp_path), Renderer(), 60)
    errors: list[BaseException] = []

    def install() -> None:
        try:
            manager.install_signal_handlers()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=install)
    thread.start()
    thread.join()
    assert [str(e) for e in errors] == ["signal handlers can only be installed from the main thread"]


CHILD = textwrap.dedent(
    """
    import sys, time
    from migrator.savepoints import SavepointManager, SavepointWriter

    def on_signal(name):
        print("on_signal", name, flush=True)

    manager = SavepointManager(SavepointWriter(sys.argv[1]), lambda r: r, 60, on_signal=on_signal)
    manager.install_signal_handlers()
    print("ready", flush=True)
    while manager.interrupted_by is None:
        time.sleep(0.01)
    print("interrupted", manager.interrupted_by, flush=True)
    time.sleep(30)
    print("not killed", flush=True)
    """
)


def test_second_signal_exits_at_once_with_code_4(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGINT)
        assert child.stdout.readline() == "on_signal SIGINT\n"
        assert child.stdout.readline() == "interrupted SIGINT\n"
        child.send_signal(signal.SIGTERM)
        assert child.wait(10) == 4
    finally:
        child.kill()
        child.wait()
    assert child.stdout.read() == ""
    assert [p.read_text() for p in list_savepoints(tmp_path)] == ["SIGINT"]
