"""Savepoint files: named so they sort, written atomically, dumped on a timer, on signals and at the end.

A savepoint is a text (the migration renders its config plus the finished work); this module does
not look inside it. Guarantees:

* Names are ``savepoint_<13-digit epoch ms>_<10-digit counter>.yaml`` and strictly increase within
  a directory, even when the clock goes backwards or several dumps happen in one millisecond, so
  ``ls | tail -n1`` (and ``newest_savepoint``) is the newest. Upstream's legacy
  ``savepoint_<epoch seconds>.yaml`` names are read too.
* A savepoint file is never partial: the text goes to a hidden temp file in the same directory, is
  fsynced and renamed over; on failure the temp file is removed and the error propagates. On S3
  (``savepoints.path: s3://bucket/prefix``) each savepoint is one object, which a PUT replaces whole.
* Dumps are serialized: nothing is written after ``close``, so the final savepoint is the newest.
* A local write the storage refuses (disk full, read-only, permission, folder removed: ``WriteFailed``)
  stops the run: it is recorded as ``failure``, ``on_failure`` is called (the run cancels its Spark
  jobs there) and nothing more is written, not even the final savepoint, so the newest one on disk
  stays the last good one. A removed folder is not recreated: the savepoints in it are gone, and
  quietly going on would make the user believe the run can still be resumed from there. Any other
  failed scheduled dump (S3 throttled, the network) is logged and retried at the next tick.
* Between scheduled dumps, ``refresh`` rewrites the newest savepoint in place (still atomically)
  whenever work finished, so a hard kill loses no finished work and new files still appear only
  once per interval.
* The first SIGINT/SIGTERM records the signal, calls ``on_signal`` and writes a savepoint without
  raising (the main flow checks ``interrupted_by``); a second one exits at once with code 4.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from migrator import s3
from migrator.errors import EXIT_INTERRUPTED, ConfigError
from migrator.files import WriteFailed, make_folder, probe_folder, write_atomically, write_failed

log = logging.getLogger("migrator.savepoints")

SAVEPOINT_NAME_RE = re.compile(r"^savepoint_(\d+)(?:_(\d+))?\.yaml$")
MILLIS_DIGITS = 13
COUNTER_DIGITS = 10
COUNTER_LIMIT = 10**COUNTER_DIGITS
HOSTILE_VALUE = 2**62  # a name carrying a value this large was not written by a clock; ignore it
LEGACY_COUNTER = -1  # a legacy name sorts before a new one of the same millisecond
SCHEDULED_REASON = "interval"
PROGRESS_REASON = "progress"
MAX_REFRESH_SHARE = 0.02  # refreshes may take at most this share of the run's time
FINAL_REASON = "final"
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_LOCK_WAIT_SECONDS = 5.0
MIN_CLOSE_WAIT_SECONDS = 5.0
MAX_CLOSE_WAIT_SECONDS = 30.0
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class RemoteSavepointPathError(ConfigError, NotImplementedError):
    """The savepoint path is a remote URI other than S3 (gs://, hdfs://, ...), which is not supported."""


def savepoint_name(millis: int, counter: int) -> str:
    """The file name for a savepoint written at ``millis`` with sequence ``counter``."""
    return f"savepoint_{millis:0{MILLIS_DIGITS}d}_{counter:0{COUNTER_DIGITS}d}.yaml"


def parse_savepoint_name(name: str) -> tuple[int, int] | None:
    """``(millis, counter)`` of a savepoint file name, or None if it is not one (or is hostile).

    A legacy name ``savepoint_<epoch seconds>.yaml`` gives ``(seconds * 1000, -1)``.
    """
    match = SAVEPOINT_NAME_RE.match(name)
    if match is None:
        return None
    if match.group(2) is None:
        millis, counter = int(match.group(1)) * 1000, LEGACY_COUNTER
    else:
        millis, counter = int(match.group(1)), int(match.group(2))
    if millis >= HOSTILE_VALUE or counter >= HOSTILE_VALUE:
        return None
    return millis, counter


def local_directory(path: str | os.PathLike[str]) -> Path:
    """The local directory for a savepoint path; ``file://`` URIs are accepted.

    Raises ``RemoteSavepointPathError`` for any other scheme.
    """
    text = os.fspath(path)
    match = _SCHEME_RE.match(text)
    if match is None:
        return Path(text[len("file:") :] if text.startswith("file:/") else text)
    if match.group(1).lower() != "file":
        message = (
            f"{text}: savepoints can go to a local folder or to S3 (s3://, s3a://), not to "
            f"{match.group(1)}://; use a local directory (e.g. a volume mounted on the Spark driver) or S3"
        )
        raise RemoteSavepointPathError([("savepoints.path", message)])
    rest = text[match.end() :]
    if rest.startswith("localhost/"):
        rest = rest[len("localhost") :]
    if not rest.startswith("/"):
        raise RemoteSavepointPathError(
            [("savepoints.path", f"{text}: a file:// URI must name a local absolute path (file:///dir)")]
        )
    return Path(rest)


def list_savepoints(directory: str | os.PathLike[str]) -> list[Path]:
    """The savepoint files in ``directory``, oldest first (empty if it does not exist)."""
    folder = local_directory(directory)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        key = parse_savepoint_name(entry.name)
        if key is not None and entry.is_file():
            found.append((key, entry.name, entry))
    return [entry for _, _, entry in sorted(found)]


def newest_savepoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest savepoint file in ``directory``, or None."""
    files = list_savepoints(directory)
    return files[-1] if files else None


def epoch_millis() -> int:
    """The wall clock in whole milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


Location = Path | str  # a local file, or an s3:// URI


class _Names:
    """Hands out increasing savepoint names, continuing after the newest one already there."""

    def __init__(self, existing: list[str], clock: Callable[[], int]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        keys = [k for k in map(parse_savepoint_name, existing) if k is not None]
        self._last: tuple[int, int] = max(keys, default=(0, LEGACY_COUNTER))

    def next_name(self) -> str:
        """The next name: the clock's millisecond, or a higher counter when the clock did not advance."""
        with self._lock:
            last_millis, last_counter = self._last
            millis = max(self._clock(), last_millis)
            counter = last_counter + 1 if millis == last_millis else 0
            if counter >= COUNTER_LIMIT:  # keep the fixed width so that names keep sorting
                millis, counter = millis + 1, 0
            self._last = (millis, counter)
            return savepoint_name(millis, counter)


class SavepointWriter:
    """Writes savepoint texts into one local directory, atomically, under increasing names."""

    def __init__(self, directory: str | os.PathLike[str], *, clock: Callable[[], int] = epoch_millis) -> None:
        self._directory = make_folder(local_directory(directory))
        try:
            existing = [p.name for p in self._directory.iterdir()]
        except OSError as exc:
            raise write_failed(self._directory, exc) from None
        self._names = _Names(existing, clock)

    @property
    def directory(self) -> Location:
        """Where the savepoints are written."""
        return self._directory

    def write(self, text: str, *, replace: Location | None = None) -> Location:
        """Write ``text`` as the next savepoint (or over ``replace``, atomically) and return its path."""
        path = Path(replace) if replace is not None else self._directory / self._names.next_name()
        write_atomically(path, text)
        return path


class S3SavepointWriter:
    """Writes savepoint texts as objects under an S3 prefix, under increasing names.

    A PUT replaces an object whole, so a reader (or a resume) sees the old savepoint or the new one,
    never a part. The prefix is listed once, to continue after the savepoints already there.
    """

    def __init__(self, uri: str, *, clock: Callable[[], int] = epoch_millis, client: Any = None) -> None:
        self._scheme, self._bucket, self._prefix = s3.split_prefix(uri, "savepoints.path")
        self._s3 = client or s3.client()
        with s3.translated(self.directory, "listing the savepoints in", "savepoints.path", "s3:ListBucket"):
            existing = s3.list_names(self._s3, self._bucket, self._prefix)
        self._names = _Names(existing, clock)

    @property
    def directory(self) -> str:
        """The prefix the savepoints go under, as a URI."""
        return f"{self._scheme}://{self._bucket}/{self._prefix}"

    def write(self, text: str, *, replace: Location | None = None) -> Location:
        """Put ``text`` as the next savepoint (or over ``replace``) and return its URI."""
        uri = str(replace) if replace is not None else self.directory + self._names.next_name()
        _, key = s3.split_uri(uri)
        with s3.translated(uri, "writing the savepoint", "savepoints.path", "s3:PutObject"):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=text.encode("utf-8"),
                                ContentType="application/yaml")
        return uri


def savepoint_writer(location: str, *, clock: Callable[[], int] = epoch_millis) -> SavepointWriter | S3SavepointWriter:
    """The writer for ``savepoints.path``: a local folder (or ``file://``) or an S3 prefix."""
    if s3.is_s3_uri(location):
        return S3SavepointWriter(location, clock=clock)
    return SavepointWriter(location, clock=clock)


def check_location(location: str) -> None:
    """Refuse, as a config error, a savepoint path no writer can use (before anything starts)."""
    if s3.is_s3_uri(location):
        s3.split_prefix(location, "savepoints.path")
    else:
        local_directory(location)


def check_writable(location: str) -> None:
    """Refuse (exit 3) a local savepoint folder that cannot be created or written, before any work starts.

    The folder is created (``0700``) if missing. S3 prefixes are not probed: their first PUT says.
    """
    if s3.is_s3_uri(location):
        return
    folder = local_directory(location)
    try:
        probe_folder(folder)
    except WriteFailed as exc:
        raise WriteFailed(f"savepoints cannot be written into {folder}: {exc.meaning}; nothing was started",
                          hint=f"{exc.hint} (savepoints.path)", path=folder, code=exc.errno,
                          meaning=exc.meaning) from None


class SavepointManager:
    """Dumps ``render(reason)`` through a writer: on a timer, on signals, and once more at close.

    ``on_signal(name)`` is called on the first SIGINT/SIGTERM before the signal's savepoint is
    written (the migration cancels its Spark jobs there). ``on_failure(error)`` is called once when a
    local write fails (``failure``); the run cancels its jobs there too. Used as a context manager,
    entering starts the timer and leaving closes with a ``final`` savepoint (and raises ``failure``).
    """

    def __init__(
        self,
        writer: SavepointWriter | S3SavepointWriter,
        render: Callable[[str], str],
        interval_seconds: float,
        on_signal: Callable[[str], None] | None = None,
        on_failure: Callable[[WriteFailed], None] | None = None,
    ) -> None:
        if not (math.isfinite(interval_seconds) and interval_seconds > 0):
            raise ValueError(f"savepoint interval must be a positive number of seconds: {interval_seconds}")
        self._writer = writer
        self._render = render
        self._interval = float(interval_seconds)
        self._on_signal = on_signal
        self._on_failure = on_failure
        self._failure: WriteFailed | None = None
        self._close_wait = min(MAX_CLOSE_WAIT_SECONDS, max(MIN_CLOSE_WAIT_SECONDS, 2 * self._interval))
        self._lock = threading.Lock()
        self._lock_owner: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._interrupted_by: str | None = None
        self._previous_handlers: dict[int, SignalHandler] = {}
        self._last_path: Location | None = None
        self.writes = 0
        self.write_seconds = 0.0
        self._last_write_end = 0.0

    @property
    def interrupted_by(self) -> str | None:
        """The name of the first signal received (e.g. ``SIGTERM``), or None."""
        return self._interrupted_by

    @property
    def failure(self) -> WriteFailed | None:
        """The local write that failed and stopped the savepoints, or None."""
        return self._failure

    @property
    def last_path(self) -> Location | None:
        """The last savepoint this manager wrote, or None."""
        return self._last_path

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called; no savepoint is written after that."""
        return self._closed

    def start(self) -> None:
        """Start the daemon thread that dumps every ``interval_seconds`` (idempotent)."""
        if self._closed:
            raise RuntimeError("the savepoint manager is closed")
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="savepoints", daemon=True)
            self._thread.start()
            log.info("writing a savepoint every %g s into %s", self._interval, self._writer.directory)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.dump(SCHEDULED_REASON)
            except WriteFailed:
                return  # recorded by _write: no more savepoints
            except Exception:
                log.exception("could not write a scheduled savepoint; retrying in %g s", self._interval)

    def _acquire(self, timeout: float | None) -> bool:
        acquired = self._lock.acquire() if timeout is None else self._lock.acquire(timeout=timeout)
        if acquired:
            self._lock_owner = threading.get_ident()
        return acquired

    def _release(self) -> None:
        self._lock_owner = None
        self._lock.release()

    def _write(self, reason: str, *, replace: Location | None = None) -> Location:
        started = time.perf_counter()
        try:
            path = self._writer.write(self._render(reason), replace=replace)
        except WriteFailed as exc:
            self._fail(exc)
            raise
        self._last_write_end = time.perf_counter()
        self.write_seconds += self._last_write_end - started
        self.writes += 1
        self._last_path = path
        log.log(logging.DEBUG if replace else logging.INFO, "wrote savepoint %s (reason: %s)", path, reason)
        return path

    def _fail(self, exc: WriteFailed) -> None:
        """Record the first failed local write, stop the timer and tell the run."""
        if self._failure is not None:
            return
        self._failure = exc
        self._stop.set()
        log.error("%s; no more savepoints are written", exc.message)
        if self._on_failure is not None:
            try:
                self._on_failure(exc)
            except Exception:
                log.exception("the savepoint failure callback failed")

    def refresh(self, *, force: bool = False) -> Location | None:
        """Bring the newest savepoint up to date, rewriting it in place (the run's first one is new).

        Called whenever ranges finish, so that even a hard kill (SIGKILL, a lost driver) loses no
        finished range, while new files still appear only every interval. Skipped, returning None,
        when another dump is running (it is as fresh), once closed, and when it comes too soon:
        refreshes are spaced so that they take at most ``MAX_REFRESH_SHARE`` of the time (one that
        costs 10 ms may come every 0.5 s), unless ``force`` (a streamed round's positions must be on
        disk before the next round applies more).
        """
        if self.writes and not force:
            mean_cost = self.write_seconds / self.writes
            if time.perf_counter() - self._last_write_end < mean_cost / MAX_REFRESH_SHARE:
                return None
        if not self._acquire(None if force else 0):
            return None
        try:
            if self._closed or self._failure is not None:
                return None
            return self._write(PROGRESS_REASON, replace=self._last_path)
        except WriteFailed:
            return None  # recorded: the run reads ``failure``
        finally:
            self._release()

    def dump(self, reason: str) -> Location | None:
        """Write a savepoint now; returns its path, or None once the manager is closed."""
        self._acquire(None)
        try:
            if self._closed or self._failure is not None:
                log.debug("savepoint manager closed or failed: not writing a %s savepoint", reason)
                return None
            return self._write(reason)
        finally:
            self._release()

    def install_signal_handlers(self) -> None:
        """Handle SIGINT and SIGTERM (main thread only; ``close`` restores the previous handlers)."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handlers can only be installed from the main thread")
        if self._closed:
            raise RuntimeError("the savepoint manager is closed")
        if not self._previous_handlers:
            for sig in HANDLED_SIGNALS:
                self._previous_handlers[sig] = signal.signal(sig, self._handle_signal)

    def _handle_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._interrupted_by is not None:
            os._exit(EXIT_INTERRUPTED)
        self._interrupted_by = name
        log.warning("received %s: writing a savepoint and stopping (send it again to exit at once)", name)
        if self._on_signal is not None:
            try:
                self._on_signal(name)
            except Exception:
                log.exception("the %s callback failed", name)
        if self._lock_owner == threading.get_ident():
            log.warning("not writing a %s savepoint: this thread is writing one already", name)
            return
        if not self._acquire(SIGNAL_LOCK_WAIT_SECONDS):
            log.error("no %s savepoint: a dump still runs after %g s", name, SIGNAL_LOCK_WAIT_SECONDS)
            return
        try:
            if not self._closed and self._failure is None:
                self._write(name)
        except Exception:
            log.exception("could not write the %s savepoint", name)
        finally:
            self._release()

    def _restore_signal_handlers(self) -> None:
        if not self._previous_handlers:
            return
        if threading.current_thread() is not threading.main_thread():
            log.warning("cannot restore the signal handlers outside the main thread")
            return
        for sig, previous in self._previous_handlers.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous_handlers.clear()

    def close(self, final_reason: str | None = None) -> Location | None:
        """Stop dumping; write a last savepoint for ``final_reason`` if given; restore the handlers.

        Returns the final savepoint's path. Raises ``TimeoutError`` if a running dump does not
        finish in time for the final one, and whatever the final dump raised except a failed local
        write, which is recorded as ``failure`` (then, or after an earlier failure, None is returned).
        """
        self._stop.set()
        try:
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(self._close_wait)
            return self._final_dump(final_reason)
        finally:
            self._restore_signal_handlers()

    def _final_dump(self, reason: str | None) -> Location | None:
        if not self._acquire(self._close_wait):
            self._closed = True
            if reason is None:
                return None
            raise TimeoutError(f"no {reason} savepoint: a dump still runs after {self._close_wait:g} s")
        try:
            if self._closed:
                return None
            self._closed = True
            if reason is None or self._failure is not None:
                return None  # after a failed write the newest savepoint on disk is the last good one
            return self._write(reason)
        except WriteFailed:
            return None
        finally:
            self._release()

    def __enter__(self) -> SavepointManager:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close(FINAL_REASON)
            if self._failure is not None:
                raise self._failure
            return
        try:
            self.close(FINAL_REASON)
        except Exception:  # keep the run's own error; the failed final dump is only logged
            log.exception("could not write the final savepoint")
