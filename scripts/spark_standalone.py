#!/usr/bin/env python3
"""A real Spark standalone cluster, one master and one worker, from a venv's pip-installed pyspark.

The pip package has no start-master.sh or start-worker.sh, so both daemons are started through
`spark-class` in the foreground, in sessions of their own, and recorded in pid files. Everything
binds to 127.0.0.1 and lives under .services/<name>/{master,worker}/ (conf, logs, pid, work).

  scripts/services up                       starts the default cluster "spark" from .venv, with
                                            master spark://127.0.0.1:7077 (UI 8080, worker UI 8081)
  scripts/spark_standalone.py up --venv .venv-spark35 --name spark35 --port-offset 100
                                            a second cluster, e.g. Spark 3.5 on 7177/8180/8181

environment:
  MIGRATOR_SPARK_WORKER_CORES   cores the worker offers (default 2)
  MIGRATOR_SPARK_WORKER_MEMORY  memory the worker offers to executors (default 2g)

Standard library only, like scripts/services. See docs/services.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from proclib import command_line, pid_alive, port_in_use

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / ".services"
LOOPBACK = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
DEFAULT_TIMEOUT_S = 120.0
STOP_GRACE_S = 20.0
POLL_S = 0.5
TAIL_LINES = 30
# Variables from the caller that would make the pip scripts use another Spark or Python.
FOREIGN_VARIABLES = ("SPARK_HOME", "SPARK_CONF_DIR", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")
# The daemons log like migrator runs (warnings and errors), plus the deploy classes' INFO lines:
# executors launched and lost, workers registered.
DAEMON_LOG4J = (ROOT / "migrator" / "log4j2.properties").read_text() + """\
logger.deploy.name = org.apache.spark.deploy
logger.deploy.level = info
"""


class SparkError(Exception):
    """A failure the user can act on; printed without a stack trace."""


@dataclass(frozen=True)
class Daemon:
    """The master or the worker of one cluster."""

    role: str  # "master" or "worker"
    java_class: str
    home: Path
    port: int
    ui_port: int

    @property
    def pid_file(self) -> Path:
        """Where its pid is recorded."""
        return self.home / "pid"

    @property
    def log_file(self) -> Path:
        """Its stdout and stderr."""
        return self.home / "logs" / f"{self.role}.log"

    def running_pid(self) -> int | None:
        """Its pid if the recorded process is still this daemon (pids get reused)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        args = command_line(pid)
        ours = self.java_class in args and str(self.port) in args and pid_alive(pid)
        return pid if ours else None

    def tail(self) -> str:
        """The end of its log, for failure messages."""
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        except FileNotFoundError:
            return "(no log yet)"
        return "\n".join(f"    {line}" for line in lines)


@dataclass(frozen=True)
class Cluster:
    """A master and a worker started from the pyspark installed in ``venv``."""

    name: str
    venv: Path
    port_offset: int = 0
    cores: int = 2
    memory: str = "2g"

    @property
    def home(self) -> Path:
        """Its folder under .services/."""
        return SERVICES_DIR / self.name

    @property
    def master(self) -> Daemon:
        """The master daemon (RPC port 7077 + offset, UI 8080 + offset)."""
        return Daemon("master", MASTER_CLASS, self.home / "master", 7077 + self.port_offset,
                      8080 + self.port_offset)

    @property
    def worker(self) -> Daemon:
        """The worker daemon (RPC port 7078 + offset, UI 8081 + offset)."""
        return Daemon("worker", WORKER_CLASS, self.home / "worker", 7078 + self.port_offset,
                      8081 + self.port_offset)

    @property
    def master_url(self) -> str:
        """What spark-submit --master takes."""
        return f"spark://{LOOPBACK}:{self.master.port}"

    def spark_home(self) -> Path:
        """The pyspark package folder of the venv, which is a complete SPARK_HOME."""
        found = sorted(self.venv.glob("lib/python3*/site-packages/pyspark/bin/spark-class"))
        if not found:
            raise SparkError(f"{self.venv} has no pyspark; create it with scripts/setup "
                             "(MIGRATOR_VENV=... MIGRATOR_PYSPARK_VERSION=... for another one)")
        return found[-1].parent.parent

    def version(self) -> str:
        """The pyspark version in the venv, read from its version file."""
        text = (self.spark_home() / "version.py").read_text()
        match = re.search(r"""__version__[^=]*=\s*["']([^"']+)""", text)
        return match.group(1) if match else "?"


def java_home() -> str | None:
    """JAVA_HOME, else the installation the java on PATH belongs to."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    return str(Path(java).resolve().parent.parent) if java else None


def daemon_env(cluster: Cluster, daemon: Daemon) -> dict[str, str]:
    """The environment a daemon runs with: this cluster's Spark, loopback, its own folders."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_VARIABLES}
    conf = daemon.home / "conf"
    env.update(
        SPARK_HOME=str(cluster.spark_home()),
        SPARK_CONF_DIR=str(conf),
        SPARK_LOCAL_IP=LOOPBACK,
        SPARK_LOG_DIR=str(daemon.home / "logs"),
        SPARK_PID_DIR=str(daemon.home),
        SPARK_WORKER_DIR=str(daemon.home / "work"),
        SPARK_DAEMON_MEMORY="512m",
        SPARK_NO_DAEMONIZE="1",
        PATH=f"{cluster.venv.resolve() / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if home := java_home():
        env["JAVA_HOME"] = home
    return env


def daemon_command(cluster: Cluster, daemon: Daemon) -> list[str]:
    """The spark-class command line that runs the daemon in the foreground."""
    spark_class = str(cluster.spark_home() / "bin" / "spark-class")
    common = ["--host", LOOPBACK, "--port", str(daemon.port), "--webui-port", str(daemon.ui_port)]
    if daemon.role == "master":
        return [spark_class, daemon.java_class, *common]
    return [spark_class, daemon.java_class, cluster.master_url, *common, "--cores", str(cluster.cores),
            "--memory", cluster.memory, "--work-dir", str(daemon.home / "work")]


def start(cluster: Cluster, daemon: Daemon) -> int:
    """Start one daemon unless it runs already; returns its pid."""
    pid = daemon.running_pid()
    if pid is not None:
        return pid
    busy = [p for p in (daemon.port, daemon.ui_port) if port_in_use(LOOPBACK, p)]
    if busy:
        raise SparkError(f"{cluster.name} {daemon.role}: port {busy[0]} is in use by a process these scripts "
                         "did not start (another Spark? use --port-offset)")
    for sub in ("conf", "logs", "work"):
        (daemon.home / sub).mkdir(parents=True, exist_ok=True)
    (daemon.home / "conf" / "log4j2.properties").write_text(DAEMON_LOG4J)
    with daemon.log_file.open("ab") as out:
        proc = subprocess.Popen(daemon_command(cluster, daemon), env=daemon_env(cluster, daemon),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=daemon.home, start_new_session=True)
    daemon.pid_file.write_text(f"{proc.pid}\n")
    print(f"{cluster.name} {daemon.role}: starting, pid {proc.pid}, log {daemon.log_file.relative_to(ROOT)}")
    return proc.pid


def master_state(cluster: Cluster) -> dict[str, object] | None:
    """The master's JSON status page, or None while it does not answer."""
    url = f"http://{LOOPBACK}:{cluster.master.ui_port}/json/"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            state: dict[str, object] = json.load(response)
            return state
    except (OSError, ValueError, urllib.error.URLError):
        return None


def alive_workers(state: dict[str, object] | None) -> int:
    """How many workers the master counts as alive."""
    if not state or state.get("status") != "ALIVE":
        return 0
    value = state.get("aliveworkers", 0)
    return int(value) if isinstance(value, int | str) else 0


def up(cluster: Cluster, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Start the master, then the worker; wait until the worker registered. Returns the master URL."""
    pids = {cluster.master: start(cluster, cluster.master)}
    pids[cluster.worker] = start(cluster, cluster.worker)
    deadline = time.monotonic() + timeout
    while alive_workers(master_state(cluster)) < 1:
        for daemon, pid in pids.items():
            if not pid_alive(pid):
                raise SparkError(f"{cluster.name} {daemon.role} exited; the end of its log:\n{daemon.tail()}")
        if time.monotonic() > deadline:
            down(cluster)
            raise SparkError(f"{cluster.name}: no worker registered with the master within {timeout:g} s; "
                             f"worker log:\n{cluster.worker.tail()}")
        time.sleep(POLL_S)
    print(f"{cluster.name}: Spark {cluster.version()} master {cluster.master_url} with 1 worker "
          f"({cluster.cores} cores, {cluster.memory}); UI http://{LOOPBACK}:{cluster.master.ui_port}")
    return cluster.master_url


def down(cluster: Cluster) -> None:
    """Stop the worker (its executors go with it), then the master."""
    for daemon in (cluster.worker, cluster.master):
        pid = daemon.running_pid()
        if pid is None:
            daemon.pid_file.unlink(missing_ok=True)
            continue
        print(f"{cluster.name} {daemon.role}: stopping pid {pid}")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        daemon.pid_file.unlink(missing_ok=True)


def status(cluster: Cluster) -> bool:
    """Print one line for the cluster; True if the master runs with a live worker."""
    pids = {d.role: d.running_pid() for d in (cluster.master, cluster.worker)}
    workers = alive_workers(master_state(cluster))
    print(f"{cluster.name:<7} {cluster.master_url}  master pid {pids['master'] or '-'}  "
          f"worker pid {pids['worker'] or '-'}  alive workers {workers}")
    return pids["master"] is not None and workers >= 1


def from_env(name: str = "spark", venv: Path | None = None, port_offset: int = 0) -> Cluster:
    """A cluster with the worker size from MIGRATOR_SPARK_WORKER_CORES / _MEMORY."""
    cores = os.environ.get("MIGRATOR_SPARK_WORKER_CORES", "2")
    memory = os.environ.get("MIGRATOR_SPARK_WORKER_MEMORY", "2g")
    if not cores.isdigit() or int(cores) < 1:
        raise SparkError(f"MIGRATOR_SPARK_WORKER_CORES={cores!r}: expected a whole number of cores, like 2")
    if not re.fullmatch(r"\d+[mMgG]", memory):
        raise SparkError(f"MIGRATOR_SPARK_WORKER_MEMORY={memory!r}: expected a size like 2g or 1536m")
    return Cluster(name=name, venv=venv or ROOT / ".venv", port_offset=port_offset, cores=int(cores),
                   memory=memory)


def main(argv: list[str] | None = None) -> int:
    """Run `up`, `down` or `status` for one cluster."""
    parser = argparse.ArgumentParser(prog="scripts/spark_standalone.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="venv whose pyspark to run")
    parser.add_argument("--name", default="spark", help="folder under .services/ (default spark)")
    parser.add_argument("--port-offset", type=int, default=0, help="added to 7077/7078/8080/8081")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    args = parser.parse_args(argv)
    try:
        cluster = from_env(args.name, args.venv, args.port_offset)
        if args.command == "up":
            print(f"MIGRATOR_SPARK_MASTER={up(cluster, args.timeout)}")
        elif args.command == "down":
            down(cluster)
        else:
            return 0 if status(cluster) else 1
    except SparkError as error:
        print(f"spark: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
