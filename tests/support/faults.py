"""Break things for real: kill the migrator at random moments, freeze or restart a server process.

``KillLoop`` runs one command again and again and SIGKILLs each run at a random moment, then lets a
last run finish. The moments are drawn from a seeded generator, printed, so that a failure can be
replayed with ``MIGRATOR_FAULT_SEED``; ``MIGRATOR_FAULT_ROUNDS`` repeats the loops for the long mode
(docs/reliability.md). A kill lands either while the run starts (before it has planned its work) or
at a uniform moment within its work, which starts when it prints ``to go``.

``ServerProcess`` finds the process listening on a loopback port, stops and continues it (SIGSTOP,
SIGCONT) or kills and relaunches it with the same command line, folder, environment and output file.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.constants import ROOT

SEED_ENV, ROUNDS_ENV = "MIGRATOR_FAULT_SEED", "MIGRATOR_FAULT_ROUNDS"
WORK_STARTED = " to go"  # the line a run prints once it has planned its work and starts it
EARLY_SHARE = 0.2  # how many kills land while the run is still starting


def fault_rounds() -> int:
    """How many times a long-mode loop repeats (1 in CI)."""
    return max(1, int(os.environ.get(ROUNDS_ENV, "1")))


def fault_random(name: str) -> random.Random:
    """A generator seeded from ``MIGRATOR_FAULT_SEED`` or the clock; the seed is printed for replays."""
    seed = int(os.environ.get(SEED_ENV) or time.time_ns() % 1_000_000_007)
    print(f"{name}: {SEED_ENV}={seed}", file=sys.stderr)
    return random.Random(seed)


@dataclass
class Run:
    """One migrator process whose output is collected by a thread, with the moment work started."""

    proc: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    lines: list[str] = field(default_factory=list)
    work_started: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, args: list[str], env: dict[str, str] | None) -> Run:
        proc = subprocess.Popen([sys.executable, "-m", "migrator", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})},
                                start_new_session=True)
        run = cls(proc)
        run.reader = threading.Thread(target=run._read, daemon=True)
        run.reader.start()
        return run

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if WORK_STARTED in line:
                self.work_started.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)

    def wait_for(self, timeout: float, what: str) -> int:
        """Its exit code once it ended within ``timeout`` seconds, with all its output read; else killed, failing."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{what} ({timeout:.0f} s):\n{self.output}") from None
        assert self.reader is not None
        self.reader.join(10)
        return code

    def stops_within(self, bound: float, after: str) -> tuple[int, str]:
        """Its exit code and its ``migrator: error:`` line, once it stopped within ``bound`` seconds of now."""
        code = self.wait_for(bound, f"still running after {after}")
        errors = [line for line in self.output.splitlines() if line.startswith("migrator: error: ")]
        assert len(errors) == 1, self.output
        return code, errors[0]


@dataclass
class KillLoop:
    """SIGKILL ``kills`` runs of one command at random moments; ``finish`` runs it once more to the end.

    ``work_s`` is the span of work a kill may land in; ``startup_s`` bounds the wait for work to start;
    ``early_s`` the span after the start an early kill (one in five) lands in.
    A run that ends by itself before its moment ends the loop (the job is done): ``landed`` says how
    many kills hit a running process, and ``moments`` when (seconds after the start, or after work
    started when marked ``+``).
    """

    args: list[str]
    rng: random.Random
    work_s: float
    env: dict[str, str] | None = None
    startup_s: float = 120.0
    early_s: float = 6.0  # an early kill lands within this many seconds of the start
    working: Callable[[Run], bool] | None = None  # when work started, if not the " to go" line
    landed: int = 0
    moments: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # of every run, for searches (secrets)

    def kill_runs(self, kills: int) -> bool:
        """Kill up to ``kills`` runs; False when a run finished before its kill."""
        for _ in range(kills):
            run = Run.start(self.args, self.env)
            if not self._kill_at_random(run):
                return False
        return True

    def _kill_at_random(self, run: Run) -> bool:
        if self.rng.random() < EARLY_SHARE:
            moment, label = self.rng.uniform(0.0, self.early_s), ""
            deadline = run.started + moment
        else:
            if not self._wait_for_work(run):
                if run.proc.poll() is not None:
                    raise AssertionError(f"the run ended before its work started:\n{run.output}")
                raise AssertionError(f"no work started within {self.startup_s:.0f} s:\n{run.output}")
            moment, label = self.rng.uniform(0.0, self.work_s), "+"
            deadline = time.monotonic() + moment
        while time.monotonic() < deadline and run.proc.poll() is None:
            time.sleep(0.02)
        if run.proc.poll() is not None:
            if run.proc.returncode != 0:
                raise AssertionError(f"a run failed (exit {run.proc.returncode}):\n{run.output}")
            return False
        run.kill()
        self.outputs.append(run.output)
        self.landed += 1
        self.moments.append(f"{label}{moment:.1f}s")
        return True

    def _wait_for_work(self, run: Run) -> bool:
        if self.working is None:
            return run.work_started.wait(self.startup_s)
        deadline = time.monotonic() + self.startup_s
        while not self.working(run):
            if run.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def finish(self, timeout: float = 300, args: list[str] | None = None, env: dict[str, str] | None = None) -> str:
        """Run the command (or ``args``, in ``env`` if given) to its end; its output.

        Fails on a non-zero exit or a traceback.
        """
        run = Run.start(args or self.args, self.env if env is None else env)
        code = run.wait_for(timeout, "the last run did not finish in time")
        self.outputs.append(run.output)
        assert code == 0, f"the last run exited {code} after kills at {self.moments}:\n{run.output}"
        assert "Traceback" not in run.output, run.output
        return run.output


# ---- server processes ------------------------------------------------------------------------------


def pid_listening_on(port: int) -> int:
    """The pid of the process holding a listening TCP socket on ``port`` (loopback services only)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                    inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    raise AssertionError(f"no process listens on port {port}")


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class ServerProcess:
    """A running server found by its port: frozen, continued, or killed and started again the same way."""

    port: int
    pid: int = 0

    def __post_init__(self) -> None:
        self.pid = self.pid or pid_listening_on(self.port)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the server for the body of the block; SIGCONT it whatever happens."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> tuple[list[str], str, dict[str, str], str]:
        """SIGKILL the server; what it takes to start it again (argv, folder, environment, output file)."""
        argv = Path(f"/proc/{self.pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
        cwd = os.readlink(f"/proc/{self.pid}/cwd")
        environ = dict(entry.split("=", 1) for entry in
                       Path(f"/proc/{self.pid}/environ").read_bytes().decode().split("\0") if "=" in entry)
        output = os.readlink(f"/proc/{self.pid}/fd/1")
        os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{self.pid}").exists() and _state(self.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        return argv, cwd, environ, output

    def start(self, launch: tuple[list[str], str, dict[str, str], str], timeout: float = 180) -> None:
        """Start the server again as it was started; return once its port answers."""
        argv, cwd, environ, output = launch
        with open(output if output.startswith("/") else os.devnull, "ab") as out:
            proc = subprocess.Popen(argv, cwd=cwd, env=environ, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        _repoint_pid_files(self.pid, proc.pid)
        self.pid = proc.pid
        deadline = time.monotonic() + timeout
        while not port_answers(self.port):
            assert proc.poll() is None, f"the restarted server exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"port {self.port} did not answer within {timeout:.0f} s"
            time.sleep(0.2)


def _repoint_pid_files(old: int, new: int) -> None:
    """``scripts/services`` knows its servers by pid files: a restarted one keeps being known (and stopped)."""
    for pid_file in (ROOT / ".services").glob("*/pid"):
        if pid_file.read_text().strip() == str(old):
            pid_file.write_text(f"{new}\n")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"
