"""The one writer of local files: owner-only modes, atomic replacement, storage failures as clear errors.

Every file holding state or data that the tool writes on a local disk (savepoints, apply checkpoints,
reports, difference files, conflicts, summaries, resolutions, packs) goes through this module, so
the guarantees below hold for all of them:

* Files are created ``0600`` and folders the tool creates ``0700``, whatever the umask (022, 000,
  ...): they may hold data rows and hostnames that other users of the machine must not read. A
  folder that already exists keeps its mode (it is the user's); the files written into it are still
  ``0600``.
* ``atomic_file`` / ``write_atomically``: a temp file in the same folder, fsync, rename, fsync the
  folder. A reader (or a crash) sees either the old file or the complete new one, never a partial
  one; on failure the temp file is removed and the old file is left as it was.
* A write refused by the storage (disk full, read-only, permission, folder removed) raises
  ``WriteFailed``: exit 3, naming the file, the errno's meaning and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from migrator.errors import RuntimeFailure

FILE_MODE = 0o600
FOLDER_MODE = 0o700

# errors that say the storage refused the write (as opposed to, say, a dropped connection read inside
# an atomic_file block, which is also an OSError and must keep its own meaning)
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT,
                            errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EIO, errno.EFBIG})
FIXES = {
    errno.ENOSPC: "free space on that filesystem, or point the setting at a folder with room",
    errno.EDQUOT: "raise the disk quota, free space, or point the setting at another folder",
    errno.EROFS: "remount the filesystem read-write, or point the setting at a writable folder",
    errno.EACCES: "give this user write access to the folder, or point the setting at a writable folder",
    errno.EPERM: "give this user write access to the folder, or point the setting at a writable folder",
    errno.ENOENT: "the folder was removed while the run was using it; recreate it (or point the setting "
                  "elsewhere) and run again",
}
DEFAULT_FIX = "check the filesystem holding that folder, or point the setting at another folder"


class WriteFailed(RuntimeFailure):
    """A local file or folder could not be written; ``path``, ``errno`` and ``meaning`` say which and why."""

    def __init__(self, message: str, *, hint: str | None = None, path: Path | None = None,
                 code: int | None = None, meaning: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.errno = code
        self.meaning = meaning


def errno_meaning(code: int | None) -> str:
    """``No space left on device (ENOSPC)``: the system's text and the symbolic name."""
    if code is None:
        return "an I/O error"
    return f"{os.strerror(code)} ({errno.errorcode.get(code, code)})"


def fix_for(code: int | None) -> str:
    """What the user can do about a storage error ``code``."""
    return FIXES.get(code, DEFAULT_FIX) if code is not None else DEFAULT_FIX


def write_failed(path: Path, exc: OSError) -> WriteFailed:
    """The ``WriteFailed`` for an ``OSError`` raised while writing ``path``."""
    meaning = errno_meaning(exc.errno)
    return WriteFailed(f"cannot write {path}: {meaning}", hint=fix_for(exc.errno), path=path, code=exc.errno,
                       meaning=meaning)


def _storage_error(exc: OSError, *paths: Path) -> bool:
    """True when ``exc`` is the storage refusing one of ``paths`` (or an unnamed write, such as ENOSPC)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return False
    return exc.errno in STORAGE_ERRNOS and exc.filename in (None, *map(str, paths))


def make_folder(path: Path) -> Path:
    """Create ``path`` and its missing parents, each ``0700``; folders already there are left as they are."""
    missing = []
    current = Path(path)
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            if folder.is_dir():
                continue  # made meanwhile by someone else: theirs, leave its mode
            raise write_failed(folder, FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))) from None
        except OSError as exc:
            raise write_failed(folder, exc) from None
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode passes through the umask; an odd one (0o200) could narrow it
    return Path(path)


def probe_folder(path: Path) -> None:
    """Refuse (``WriteFailed``) a folder this process cannot create files in; create it if missing."""
    folder = make_folder(path)
    probe = folder / f".probe.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as exc:
        raise write_failed(folder, exc) from None
    os.close(fd)
    os.unlink(probe)


def fsync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable; best effort (some filesystems cannot open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create_private(path: Path, flags: int, *, named: Path | None = None) -> int:
    """A descriptor on ``path`` opened with ``flags`` (creating it ``0600``), its mode forced to ``0600``.

    A refusal names ``named`` (the file the user knows, not its temp file), else ``path``.
    """
    try:
        fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise write_failed(named or path, exc) from None
    os.fchmod(fd, FILE_MODE)  # a file that existed keeps its mode through O_CREAT; an odd umask narrows it
    return fd


@contextlib.contextmanager
def atomic_file(path: Path, *, sync_directory: bool = True, durable: bool = True) -> Iterator[IO[str]]:
    """A UTF-8 text file to write, that appears at ``path`` complete (``0600``) when the block succeeds.

    Lines may be written as they come (nothing is held in memory). If the block raises, the temp
    file is removed, ``path`` is left as it was, and the error propagates (the storage's refusals
    as ``WriteFailed``). Without ``durable`` the file is not synced to disk (nor the folder): after
    a crash of the machine it may be found truncated, so its reader must be able to tell (a size
    recorded elsewhere).
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = _create_private(temp, os.O_WRONLY | os.O_EXCL, named=path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError) and _storage_error(exc, temp, path):
            raise write_failed(path, exc) from exc
        raise
    if sync_directory and durable:
        fsync_directory(path.parent)


def write_atomically(path: Path, text: str, *, sync_directory: bool = True, durable: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path``; on failure the temp file is removed and the error raised."""
    with atomic_file(path, sync_directory=sync_directory, durable=durable) as handle:
        handle.write(text)


def open_private(path: Path, *, append: bool = False) -> IO[str]:
    """A UTF-8 text file opened for writing in place (truncated, or appended to), mode ``0600``.

    For files written as a stream and completed by a marker written after them (the pack's change
    file, whose ``pack.json`` comes last) or meant to grow (``skipped.jsonl``).
    """
    fd = _create_private(path, os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    return os.fdopen(fd, "w", encoding="utf-8", newline="")
