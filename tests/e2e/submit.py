"""spark-submit for the end-to-end tests: command lines, run output, and the migrate-compare-validate path.

The job is shipped the way a cluster without the migrator installed needs it: ``migrator.zip`` on
``--py-files`` and the packed dependency environment on ``--archives`` (built by the ``dist``
fixture in ``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.constants import ROOT, SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, dump

SUBMIT_TIMEOUT_S = 600


def pyspark_home(venv: Path) -> Path:
    """The pip pyspark folder of ``venv``, which is a complete SPARK_HOME (as the services find it)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import spark_standalone

    try:
        return spark_standalone.Cluster(name="e2e", venv=venv).spark_home()
    except spark_standalone.SparkError as error:
        pytest.fail(f"{error} (scripts/test runs scripts/setup)")


@dataclass
class Submitter:
    """Builds and runs spark-submit command lines for one Spark installation and master."""

    spark_home: Path
    master: str
    dist: Path
    driver_python: Path
    conf_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str, conf: dict[str, str] | None = None) -> list[str]:
        """``spark-submit`` with the zip, the packed environment and ``args`` after the entry script."""
        settings = {
            "spark.ui.enabled": "false",
            "spark.pyspark.python": "./environment/bin/python",
            "spark.pyspark.driver.python": str(self.driver_python),
            "spark.executor.memory": "1g",
            **(conf or {}),
        }
        confs = [item for key, value in settings.items() for item in ("--conf", f"{key}={value}")]
        return [str(self.spark_home / "bin" / "spark-submit"), "--master", self.master,
                "--py-files", str(self.dist / "migrator.zip"),
                "--archives", f"{self.dist / 'migrator-env.tar.gz'}#environment",
                *confs, str(self.dist / "migrator_entry.py"), *args]

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The submitting process's environment: this Spark, quiet logs, no inherited Python settings."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("SPARK_HOME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")}
        env.update(SPARK_HOME=str(self.spark_home), SPARK_CONF_DIR=str(self.conf_dir), SPARK_LOCAL_IP="127.0.0.1",
                   MIGRATOR_PROGRESS_INTERVAL="2", **self.env, **(extra or {}))
        return env

    def run(self, *args: str, conf: dict[str, str] | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run to completion; returns exit code and output."""
        return subprocess.run(self.command(*args, conf=conf), env=self.environ(env), cwd=cwd, text=True,
                              capture_output=True, timeout=SUBMIT_TIMEOUT_S, check=False)

    def popen(self, *args: str, conf: dict[str, str] | None = None, env: dict[str, str] | None = None,
              log: Path) -> subprocess.Popen[str]:
        """Start in the background, output into ``log``."""
        with log.open("w") as out:
            return subprocess.Popen(self.command(*args, conf=conf), env=self.environ(env), text=True,
                                    stdout=out, stderr=subprocess.STDOUT)


def output(done: subprocess.CompletedProcess[str]) -> str:
    """Everything a run printed: spark-submit passes the Python driver's stderr on to its stdout."""
    return done.stdout + done.stderr


def explain(done: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    """The tail of a run's output, for assertion messages."""
    tail = "\n".join(output(done).splitlines()[-lines:])
    return f"exit {done.returncode}; last lines:\n{tail}"


VALIDATION = {
    "compareTimestamps": True, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 0,
    "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0,
}


def migrate_and_validate(submitter: Submitter, config: Path, table: str, raw_sessions: tuple[Any, Any],
                         finished: str) -> None:
    """spark-submit a migration (its summary must start with ``finished``), compare every cell, then
    validate naming the config the upstream way (``spark.scylla.config``): equal, exit 0."""
    migrated = submitter.run("migrate", "--config", str(config))
    assert migrated.returncode == 0, explain(migrated)
    assert f"migration finished: {finished}" in output(migrated), explain(migrated)
    assert_same(dump(raw_sessions[0], SOURCE_KS, table), dump(raw_sessions[1], TARGET_KS, table))
    validated = submitter.run("validate", conf={"spark.scylla.config": str(config)})
    assert validated.returncode == 0, explain(validated)
    assert "EQUAL" in output(validated)


def executor_pids(worker_port: int) -> dict[int, str]:
    """Executor JVMs launched by the worker on ``worker_port``: pid -> executor id."""
    listing = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in listing.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "CoarseGrainedExecutorBackend" in args and f"@127.0.0.1:{worker_port}" in args:
            words = args.split()
            found[int(pid)] = words[words.index("--executor-id") + 1]
    return found
