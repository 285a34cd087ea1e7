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
    """Our driver, the Spark JVM, the PySpark workers, the Cassandra and the DynamoDB server processes."""
    found: dict[str, list[int]] = {"driver": [os.getpid()], "jvm": [], "workers": [], "cassandra": [],
                                   "dynamodb": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmd = _cmdline(int(entry.name))
        if "pyspark.daemon" in cmd or "pyspark/daemon.py" in cmd or "pyspark.worker" in cmd:
            found["workers"].append(int(entry.name))
        elif "org.apache.spark.deploy.SparkSubmit" in cmd and "pyspark-shell" in cmd:
            found["jvm"].append(int(entry.name))
        elif "CassandraDaemon" in cmd:
            found["cassandra"].append(int(entry.name))
        elif "dynalite" in cmd or "moto.server" in cmd:
            found["dynamodb"].append(int(entry.name))
    return found


CPU_GROUPS = ("driver", "jvm", "workers", "cassandra", "dynamodb")


@dataclass
class Phase:
    """A timed phase: peak RSS in MiB of the driver, the JVM and the largest Python worker, and the
    CPU seconds each group of processes (driver, Spark JVM, Python workers, Cassandra, DynamoDB
    servers) spent in it."""

    name: str
    seconds: float = 0.0
    peak_mib: dict[str, float] = field(default_factory=lambda: {"driver": 0.0, "jvm": 0.0, "worker": 0.0})
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0
    _cpu_start: dict[int, float] = field(default_factory=dict)
    _cpu_last: dict[int, tuple[str, float]] = field(default_factory=dict)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample_once()

    def _sample_once(self) -> None:
        procs = _processes()
        for key, pids in (("driver", procs["driver"]), ("jvm", procs["jvm"]), ("worker", procs["workers"])):
            peak = max((_rss_kib(p) for p in pids), default=0) / 1024
            self.peak_mib[key] = max(self.peak_mib[key], peak)
        for group in CPU_GROUPS:
            for pid in procs[group]:
                self._cpu_last[pid] = (group, process_cpu_seconds(pid))

    def __enter__(self) -> Phase:
        procs = _processes()
        self._cpu_start = {pid: process_cpu_seconds(pid) for group in CPU_GROUPS for pid in procs[group]}
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
        self._sample_once()
        self.cpu_seconds = dict.fromkeys(CPU_GROUPS, 0.0)
        for pid, (group, cpu) in self._cpu_last.items():
            self.cpu_seconds[group] += max(0.0, cpu - self._cpu_start.get(pid, 0.0))


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def database_pids(group: str = "cassandra") -> list[int]:
    """The server processes of ``group`` (``cassandra`` or ``dynamodb``) on this machine."""
    return _processes()[group]


def settle(idle_share: float = 0.1, quiet_seconds: float = 3.0, limit_seconds: float = 180.0,
           group: str = "cassandra") -> float:
    """Wait until the database servers are idle (flushes and compactions of the last phase done).

    Idle means below ``idle_share`` of one core, together, for ``quiet_seconds`` in a row. Each
    phase then starts from the same state instead of paying for the previous one's compactions.
    Returns the seconds waited.
    """
    pids = database_pids(group)
    started = time.monotonic()
    quiet_since = started
    last = sum(process_cpu_seconds(p) for p in pids)
    while time.monotonic() - started < limit_seconds:
        time.sleep(1.0)
        now = sum(process_cpu_seconds(p) for p in pids)
        busy, last = now - last, now
        if busy > idle_share:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            break
    return time.monotonic() - started
