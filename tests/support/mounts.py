"""Real filesystems that refuse writes, for the savepoint-folder faults: a small tmpfs to fill, remounted read-only.

Root ignores file modes, and CI runs as root, so ``chmod`` cannot make a folder unwritable; a mount
can. Mounting needs root (or CAP_SYS_ADMIN): a user without it sees the test skipped, saying why; as
root (CI) a refused mount fails the test.
Every mount is unmounted when the block ends, whatever happened in it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

FILLER = "filler"


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path`` (created if missing); skips the test when mounting is refused."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}"
        if os.geteuid() == 0:  # CI runs as root: there a refused mount is a broken machine, never a skip
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        remount(path, writable=True, check=False)
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)  # busy: detach it at least


def remount(path: Path, *, writable: bool, check: bool = True) -> None:
    """Remount the tmpfs at ``path`` read-only or read-write."""
    subprocess.run(["mount", "-o", f"remount,{'rw' if writable else 'ro'}", str(path)], check=check,
                   capture_output=True)


def fill(mount: Path) -> Path:
    """Write a filler file at the root of ``mount`` until the filesystem is full; returns it."""
    filler = mount / FILLER
    chunk = b"\0" * 4096
    with open(filler, "ab", buffering=0) as handle:  # unbuffered: nothing is left to flush at close
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def break_folder(fault: str, mount: Path, folder: Path) -> None:
    """Make ``folder`` on the tmpfs ``mount`` refuse writes: ``full``, ``read-only`` or ``deleted``."""
    if fault == "full":
        fill(mount)
    elif fault == "read-only":
        remount(mount, writable=False)
    else:
        shutil.rmtree(folder)
