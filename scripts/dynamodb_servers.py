#!/usr/bin/env python3
"""Local DynamoDB-compatible servers for the DynamoDB backend's tests: dynalite and moto, a source and a target each.

  server           implementation                      endpoint URL            data
  dynalite-source  dynalite (Node.js, LevelDB on disk)  http://127.0.0.1:8100   .services/dynalite-source/data/, kept
  dynalite-target  dynalite                            http://127.0.0.1:8101   .services/dynalite-target/data/, kept
  moto-source      moto.server from .venv              http://127.0.0.1:8200   in memory only: gone when it stops
  moto-target      moto.server from .venv              http://127.0.0.1:8201   in memory only: gone when it stops

Two independent implementations, so that a test can run on both. Amazon's DynamoDB Local is
deliberately not used: its licence is not an open-source one. dynalite is installed with npm, at the
version pinned here, into .cache/node/ (by scripts/setup, or by `up` when it is missing); it needs
Node.js 20 or later. Each server runs in a session of its own, with its pid file and log under
.services/<server>/. A server is "up" once it answers a real DynamoDB ListTables request.

`scripts/services up|down|status` drive these servers along with Cassandra and Spark. This file can
also run alone (it takes no lock; do not run it while scripts/services runs):

  scripts/dynamodb_servers.py install | up | down [--wipe] | status

Standard library only, like scripts/services. See docs/services.md.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proclib import command_line, pid_alive, port_in_use

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / ".services"
NODE_PREFIX = ROOT / ".cache" / "node"  # npm install --prefix: node_modules/ and package.json live here
DYNALITE_VERSION = "4.0.0"  # Apache-2.0; needs Node.js >= 20
DYNALITE_CLI = NODE_PREFIX / "node_modules" / "dynalite" / "cli.js"
DYNALITE_MARKER = NODE_PREFIX / "complete"  # names the installed version once npm succeeded
MIN_NODE_MAJOR = 20
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
POLL_S = 0.25
TAIL_LINES = 30
DYNALITE, MOTO = "dynalite", "moto"
# Table state changes take effect at once, instead of after dynalite's default 500 ms.
DYNALITE_OPTIONS = ("--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
# ListTables with a signature-shaped Authorization: dynalite rejects a request without one but checks
# no signature; moto takes the region (us-east-1) from the credential scope.
PROBE_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "X-Amz-Date": "20240101T000000Z",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
}


class DynamoServerError(Exception):
    """A failure the user can act on; printed without a stack trace."""


@dataclass(frozen=True)
class Server:
    """One DynamoDB-compatible server on a fixed loopback port, with its folder .services/<name>/."""

    name: str
    program: str  # DYNALITE or MOTO
    port: int
    env_key: str
    host: str = LOOPBACK

    @property
    def home(self) -> Path:
        """Its folder: pid file, log and (dynalite only) data."""
        return SERVICES_DIR / self.name

    @property
    def pid_file(self) -> Path:
        """Where `up` records its pid."""
        return self.home / "pid"

    @property
    def log_file(self) -> Path:
        """Its stdout and stderr, rewritten on every start."""
        return self.home / f"{self.program}.log"

    @property
    def data_dir(self) -> Path:
        """The LevelDB folder of a dynalite server; moto keeps everything in memory and has none."""
        return self.home / "data"

    @property
    def url(self) -> str:
        """The endpoint URL clients take (boto3's endpoint_url)."""
        return f"http://{self.host}:{self.port}"

    def command(self, node: str) -> list[str]:
        """The command line that runs it in the foreground; is_ours() recognises it by its port."""
        if self.program == DYNALITE:
            return [node, str(DYNALITE_CLI), "--host", self.host, "--port", str(self.port),
                    "--path", str(self.data_dir), *DYNALITE_OPTIONS]
        return [str(VENV_PYTHON), "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def is_ours(self, pid: int) -> bool:
        """Whether pid runs this server (its program, on its port): pids get reused."""
        args = command_line(pid)
        if self.program == DYNALITE:
            ours = str(DYNALITE_CLI) in args and adjacent(args, "--port", str(self.port))
        else:
            ours = "moto.server" in args and adjacent(args, "-p", str(self.port))
        return ours and pid_alive(pid)

    def running_pid(self, *, clean: bool = False) -> int | None:
        """The pid in its pid file if that process is still this server; else None (and, with clean, no pid file)."""
        try:
            pid: int | None = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid = None
        if pid is not None and self.is_ours(pid):
            return pid
        if clean and self.pid_file.exists():
            print(f"{self.name}: removing stale pid file {self.pid_file.relative_to(ROOT)}")
            self.pid_file.unlink()
        return None


SERVERS = (
    Server("dynalite-source", DYNALITE, 8100, "MIGRATOR_DYNALITE_SOURCE_URL"),
    Server("dynalite-target", DYNALITE, 8101, "MIGRATOR_DYNALITE_TARGET_URL"),
    Server("moto-source", MOTO, 8200, "MIGRATOR_MOTO_SOURCE_URL"),
    Server("moto-target", MOTO, 8201, "MIGRATOR_MOTO_TARGET_URL"),
)


@dataclass(frozen=True)
class Launch:
    """A server `up` waits for; proc is None when an earlier `up` started it."""

    server: Server
    pid: int
    proc: subprocess.Popen[bytes] | None
    started_at: float

    def exit_reason(self) -> str | None:
        """Why the process is gone, or None while it runs."""
        if self.proc is not None:
            code = self.proc.poll()
            return None if code is None else f"it exited with code {code}"
        return None if pid_alive(self.pid) else "it exited"


def adjacent(args: list[str], flag: str, value: str) -> bool:
    """Whether args hold flag immediately followed by value."""
    return any(a == flag and b == value for a, b in itertools.pairwise(args))


# ---- what each program needs ---------------------------------------------------------------------


def find_node() -> tuple[str | None, str]:
    """The node binary on PATH and "" if it is recent enough for dynalite; else None and why not."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        return None, f"there is no node on PATH (dynalite needs Node.js {MIN_NODE_MAJOR}+)"
    result = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)\.", result.stdout.strip())
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        return None, f"{node} is Node.js {result.stdout.strip() or '?'}; dynalite needs {MIN_NODE_MAJOR}+"
    return node, ""


def dynalite_installed() -> bool:
    """Whether npm finished installing the pinned dynalite into .cache/node/."""
    try:
        return DYNALITE_MARKER.read_text().strip() == f"dynalite@{DYNALITE_VERSION}" and DYNALITE_CLI.is_file()
    except FileNotFoundError:
        return False


def install_dynalite() -> None:
    """Install dynalite@DYNALITE_VERSION into .cache/node/ with npm, unless it is there already."""
    if dynalite_installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoServerError("npm is needed once to install dynalite; install Node.js (with npm) and retry")
    DYNALITE_MARKER.unlink(missing_ok=True)
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    print(f"dynalite: installing dynalite@{DYNALITE_VERSION} into {NODE_PREFIX.relative_to(ROOT)}/ with npm "
          "(first run only)")
    command = [npm, "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund", "--save-exact",
               f"dynalite@{DYNALITE_VERSION}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not DYNALITE_CLI.is_file():
        output = (result.stdout + result.stderr).splitlines()[-TAIL_LINES:]
        raise DynamoServerError("\n".join([f"npm could not install dynalite@{DYNALITE_VERSION}",
                                           f"command: {' '.join(command)}", *output]))
    DYNALITE_MARKER.write_text(f"dynalite@{DYNALITE_VERSION}\n")


def moto_missing() -> str:
    """Why moto's server cannot run from .venv, or "" when it can."""
    if not VENV_PYTHON.exists():
        return f"{VENV_PYTHON.relative_to(ROOT)} is missing; run scripts/setup"
    for package in ("moto/server.py", "flask/__init__.py"):
        if not any(ROOT.glob(f".venv/lib/python3*/site-packages/{package}")):
            return "the .venv has no moto[server]; run scripts/setup"
    return ""


def availability(*, install: bool) -> tuple[str, dict[str, str]]:
    """The node binary ("" if dynalite cannot run) and, per program, why it cannot run here ("" if it can).

    With install, a missing dynalite is installed first; when npm fails, dynalite cannot run.
    """
    node, why_not = find_node()
    if node is not None and install:
        try:
            install_dynalite()
        except DynamoServerError as error:
            node, why_not = None, f"{error}\n(run scripts/setup once the problem is fixed)"
    elif node is not None and not dynalite_installed():
        node, why_not = None, "dynalite is not installed; run scripts/setup"
    return node or "", {DYNALITE: why_not, MOTO: moto_missing()}


# ---- starting, waiting, stopping ---------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What `up` found before starting anything: the servers already running, those to start, node."""

    running: list[Launch]
    to_start: list[Server]
    node: str

    def start(self) -> list[Launch]:
        """Start the servers that are not running; a launch for every server, to wait for."""
        return self.running + [start(server, self.node) for server in self.to_start]


def prepare(servers: tuple[Server, ...] = SERVERS) -> Plan:
    """Check what runs, install dynalite if it is missing, and check the ports of the servers to start.

    A program that cannot run here (no Node.js 20+, npm failed, no moto in .venv) is skipped with a
    note: the Cassandra and Spark tests need neither, so `up` goes on without it. Fails before
    anything starts when a port it needs is taken by a process these scripts did not start.
    """
    node, missing = availability(install=True)
    for program, note in missing.items():
        if note and any(server.program == program for server in servers):
            print(f"{program}: not started: {note}")
    running, to_start = [], []
    for server in (s for s in servers if not missing[s.program]):
        pid = server.running_pid(clean=True)
        if pid is None:
            to_start.append(server)
        else:
            running.append(Launch(server, pid, None, time.monotonic()))
    if busy := [f"{s.name} port {s.host}:{s.port}" for s in to_start if port_in_use(s.host, s.port)]:
        raise DynamoServerError("cannot start: in use by a process these scripts did not start (or whose pid "
                                "file was deleted): " + "; ".join(busy))
    return Plan(running, to_start, node)


def start(server: Server, node: str) -> Launch:
    """Start one server in a session of its own, so it outlives this script and its terminal."""
    server.home.mkdir(parents=True, exist_ok=True)
    with server.log_file.open("wb") as out:
        proc = subprocess.Popen(server.command(node), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=server.home, start_new_session=True)
    server.pid_file.write_text(f"{proc.pid}\n")
    print(f"{server.name}: starting, pid {proc.pid}, log {server.log_file.relative_to(ROOT)}")
    return Launch(server, proc.pid, proc, time.monotonic())


def list_tables(host: str, port: int, timeout: float = 2.0) -> dict[str, Any] | None:
    """POST a DynamoDB ListTables request; the decoded reply if it is a success, else None."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", "/", body=b"{}", headers=PROBE_HEADERS)
        response = connection.getresponse()
        reply = json.loads(response.read())
        ok = response.status == 200 and isinstance(reply, dict) and isinstance(reply.get("TableNames"), list)
        return reply if ok else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def failure_report(launch: Launch, reason: str) -> str:
    """Which server failed and why, with the end of its log."""
    server = launch.server
    try:
        lines = server.log_file.read_text(errors="replace").splitlines()[-TAIL_LINES:]
    except FileNotFoundError:
        lines = []
    heading = f"{server.name} ({server.url}) did not come up: {reason}."
    if not lines:
        return f"{heading}\n(nothing in {server.log_file})"
    return "\n".join([heading, f"--- last {len(lines)} lines of {server.log_file} ---", *lines, "---"])


def wait_ready(launches: list[Launch], timeout: float) -> list[str]:
    """Wait until every server answers ListTables; a report for each that exits or outlasts the timeout.

    A server this run started that does not answer in time is stopped again; earlier ones are left alone.
    """
    deadline = time.monotonic() + timeout
    pending, failures = list(launches), []
    while pending:
        for launch in list(pending):
            if (reason := launch.exit_reason()) is not None:
                failures.append(failure_report(launch, reason))
                launch.server.pid_file.unlink(missing_ok=True)
                pending.remove(launch)
            elif list_tables(launch.server.host, launch.server.port) is not None:
                report_ready(launch)
                pending.remove(launch)
        if pending and time.monotonic() >= deadline:
            failures.extend(failure_report(launch, f"no DynamoDB answer within {timeout:g} s") for launch in pending)
            stop({launch.server: launch.pid for launch in pending if launch.proc is not None})
            break
        if pending:
            time.sleep(POLL_S)
    return failures


def report_ready(launch: Launch) -> None:
    """Print that a server answers, and how long its start took."""
    server = launch.server
    if launch.proc is None:
        print(f"{server.name}: already up, pid {launch.pid}, DynamoDB answers on {server.url}")
    else:
        elapsed = time.monotonic() - launch.started_at
        print(f"{server.name}: DynamoDB answers on {server.url} after {elapsed:.1f} s")


def stop(pids: dict[Server, int]) -> None:
    """SIGTERM all at once, then SIGKILL whatever outlives the grace; returns once all are gone.

    Neither program needs a shutdown step: dynalite's LevelDB log is written on every request.
    """
    for pid in pids.values():
        os.kill(pid, signal.SIGTERM)
    stubborn = wait_gone(pids, STOP_GRACE_S)
    for server, pid in stubborn.items():
        print(f"{server.name}: pid {pid} still runs {STOP_GRACE_S:g} s after SIGTERM, sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
    if undead := wait_gone(stubborn, STOP_GRACE_S):
        raise DynamoServerError("could not stop " + ", ".join(f"{s.name} (pid {p})" for s, p in undead.items()))
    for server in pids:
        server.pid_file.unlink(missing_ok=True)


def wait_gone(pids: dict[Server, int], seconds: float) -> dict[Server, int]:
    """The processes still running after waiting up to seconds for them to exit."""
    deadline = time.monotonic() + seconds
    remaining = dict(pids)
    while remaining and time.monotonic() < deadline:
        time.sleep(0.1)
        remaining = {server: pid for server, pid in remaining.items() if pid_alive(pid)}
    return remaining


# ---- the commands --------------------------------------------------------------------------------


def env_entries(launches: list[Launch]) -> list[tuple[str, str]]:
    """The .services.env lines of the servers launched: MIGRATOR_<SERVER>_URL=http://127.0.0.1:<port>."""
    return [(launch.server.env_key, launch.server.url) for launch in launches]


def up(timeout: float = DEFAULT_TIMEOUT_S, servers: tuple[Server, ...] = SERVERS) -> list[tuple[str, str]]:
    """Start the servers that can run here and are not running, and wait for all; their .services.env lines."""
    launches = prepare(servers).start()
    if failures := wait_ready(launches, timeout):
        raise DynamoServerError("\n\n".join(failures))
    return env_entries(launches)


def down(*, wipe: bool = False, servers: tuple[Server, ...] = SERVERS) -> None:
    """Stop the servers our pid files name (checked to be ours); with wipe, delete their folders."""
    running = {}
    for server in servers:
        pid = server.running_pid(clean=True)
        print(f"{server.name}: not running" if pid is None else f"{server.name}: stopping pid {pid}")
        if pid is not None:
            running[server] = pid
    stop(running)
    for server in servers:
        if wipe and server.home.exists():
            shutil.rmtree(server.home)
            print(f"{server.name}: deleted {server.home.relative_to(ROOT)}/")


def status(servers: tuple[Server, ...] = SERVERS) -> bool:
    """One line per server; True if every server that can run here runs and answers ListTables."""
    _node, missing = availability(install=False)
    healthy = True
    for server in servers:
        if note := missing[server.program]:
            print(f"{server.name:<15} {server.url}  not available here: {note}")
            continue
        pid = server.running_pid()
        reply = list_tables(server.host, server.port)
        if reply is None:
            answer = "no DynamoDB answer"
        else:
            more = "+" if "LastEvaluatedTableName" in reply else ""
            answer = f"DynamoDB answers ({len(reply['TableNames'])}{more} tables)"
        print(f"{server.name:<15} {server.url}  pid {pid or '-':<8} {'up' if pid else 'down':<5} {answer}")
        healthy = healthy and pid is not None and reply is not None
    return healthy


def main(argv: list[str] | None = None) -> int:
    """Run install, up, down or status for the four servers."""
    parser = argparse.ArgumentParser(prog="scripts/dynamodb_servers.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "up", "down", "status"])
    parser.add_argument("--wipe", action="store_true", help="down: also delete .services/<server>/")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="up: seconds to wait")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            if find_node()[0] is None:
                raise DynamoServerError(find_node()[1])
            install_dynalite()
            print(f"dynalite@{DYNALITE_VERSION} is installed in {NODE_PREFIX.relative_to(ROOT)}/")
        elif args.command == "up":
            for key, url in up(args.timeout):
                print(f"{key}={url}")
        elif args.command == "down":
            down(wipe=args.wipe)
        else:
            return 0 if status() else 1
    except DynamoServerError as error:
        print(f"dynamodb servers: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
