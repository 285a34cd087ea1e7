"""Wall-clock timing and peak memory sampling of the driver, the JVM and the Python workers."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

SAMPLE_SECONDS = 0.2


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _processes() -> dict[str, list[int]]:
    """Our driver, the Spark JVM and the PySpark worker processes on this machine."""
    found: dict[str, list[int]] = {"driver": [os.getpid()], "jvm": [], "workers": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmd = _cmdline(int(entry.name))
        if "pyspark.daemon" in cmd or "pyspark/daemon.py" in cmd or "pyspark.worker" in cmd:
            found["workers"].append(int(entry.name))
        elif "org.apache.spark.deploy.SparkSubmit" in cmd and "pyspark-shell" in cmd:
            found["jvm"].append(int(entry.name))
    return found


@dataclass
class Phase:
    """A timed phase; peak RSS in MiB of the driver, the JVM, and the largest Python worker."""

    name: str
    seconds: float = 0.0
    peak_mib: dict[str, float] = field(default_factory=lambda: {"driver": 0.0, "jvm": 0.0, "worker": 0.0})
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            procs = _processes()
            for key, pids in (("driver", procs["driver"]), ("jvm", procs["jvm"]), ("worker", procs["workers"])):
                peak = max((_rss_kib(p) for p in pids), default=0) / 1024
                self.peak_mib[key] = max(self.peak_mib[key], peak)

    def __enter__(self) -> Phase:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.seconds = time.monotonic() - self._started
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
