"""Everything a run exposes, collected to be searched for secrets: output, files, every process's command line.

A command line is public on a machine (``ps``), so a secret handed to a JVM or a Python worker as
an argument leaks even if no file ever holds it. ``Exposure.run`` starts the CLI and, while it runs,
reads ``/proc/*/cmdline`` of every process and every file under the watched folders (apply
checkpoints and temp files live only while the run does); afterwards it reads the folders once more.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.constants import ROOT

SAMPLE_SECONDS = 0.1


class Exposure:
    """The texts seen so far: outputs, file contents (by path) and command lines."""

    def __init__(self, *folders: Path, read_at_end: tuple[Path, ...] = ()) -> None:
        self.folders = folders
        self.read_at_end = read_at_end  # large, growing files (event logs): read once each run ended
        self.seconds: list[float] = []
        self.outputs: list[str] = []
        self.files: dict[str, set[bytes]] = {}
        self.command_lines: set[bytes] = set()
        self.samples = 0

    def run(self, *args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``python -m migrator ARGS``, sampling processes and files until it ends."""
        with subprocess.Popen([sys.executable, "-m", "migrator", *args], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            started = time.monotonic()
            deadline = started + timeout
            streams: dict[str, str] = {}
            reader = threading.Thread(target=lambda: streams.update(zip(("out", "err"), proc.communicate(),
                                                                        strict=True)))
            reader.start()
            while reader.is_alive() and time.monotonic() < deadline:
                self._sample()
                time.sleep(SAMPLE_SECONDS)
            if reader.is_alive():
                proc.kill()
            reader.join()
        self.seconds.append(round(time.monotonic() - started, 1))
        self._read_files(final=True)
        self.outputs += [streams["out"], streams["err"]]
        return subprocess.CompletedProcess(proc.args, proc.returncode, streams["out"], streams["err"])

    def _sample(self) -> None:
        self.samples += 1
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):  # the process ended meanwhile
                self.command_lines.add(cmdline.read_bytes())
        self._read_files()

    def _read_files(self, *, final: bool = False) -> None:
        for folder in self.folders:
            for path in folder.rglob("*") if folder.exists() else ():
                if not final and any(path.is_relative_to(skipped) for skipped in self.read_at_end):
                    continue
                try:
                    if path.is_file():
                        self.files.setdefault(str(path), set()).add(path.read_bytes())
                except OSError:
                    pass  # renamed or removed meanwhile: a temp file, or a finished checkpoint

    def leaks(self, secrets: list[str]) -> list[str]:
        """Where any of ``secrets`` was seen, as ``secret in place`` lines (empty: nowhere)."""
        found = []
        for secret in secrets:
            needle = secret.encode()
            found += [f"{secret} in output" for text in self.outputs if secret in text]
            found += [f"{secret} in {path}" for path, versions in self.files.items()
                      if any(needle in data for data in versions)]
            found += [f"{secret} in command line {line[:200]!r}" for line in self.command_lines if needle in line]
        return found
