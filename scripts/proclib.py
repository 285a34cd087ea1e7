"""Process and port helpers shared by scripts/services and scripts/spark_standalone.py (stdlib only)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path


def command_line(pid: int) -> list[str]:
    """The arguments pid runs with, from /proc where there is one, else from ps."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return []
    result = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True,
                            check=False)
    return result.stdout.split()


def pid_alive(pid: int) -> bool:
    """Whether any thread of pid still runs (and may hold its ports): a zombie does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc/self").exists():
        return True
    # A JVM's main thread turns zombie while its other threads are still shutting down, so ask
    # every thread, not just the main one.
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            if stat.read_text().rpartition(")")[2].split()[0] not in ("Z", "X"):
                return True
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return False


def port_in_use(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0
