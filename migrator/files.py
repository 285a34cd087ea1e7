"""Durable local file writes: a temp file in the same folder, fsync, rename, fsync the folder.

A reader (or a crash) sees either the old file or the complete new one, never a partial one. Used
for savepoints, reports and the per-split difference files.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def fsync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable; best effort (some filesystems cannot open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path, *, sync_directory: bool = True, durable: bool = True) -> Iterator[IO[str]]:
    """A UTF-8 text file to write, that appears at ``path`` complete when the block succeeds.

    Lines may be written as they come (nothing is held in memory). If the block raises, the temp
    file is removed, ``path`` is left as it was, and the error propagates. Without ``durable`` the
    file is not synced to disk (nor the folder): after a crash of the machine it may be found
    truncated, so its reader must be able to tell (a size recorded elsewhere).
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open rather than mkstemp: the file gets the umask's permissions, not 0600
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if sync_directory and durable:
        fsync_directory(path.parent)


def write_atomically(path: Path, text: str, *, sync_directory: bool = True, durable: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path``; on failure the temp file is removed and the error raised."""
    with atomic_file(path, sync_directory=sync_directory, durable=durable) as handle:
        handle.write(text)
