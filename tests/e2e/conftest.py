"""Fixtures for end-to-end runs: spark-submit to a real standalone cluster, as a user would.

The cluster is the one ``scripts/services up`` starts (``MIGRATOR_SPARK_MASTER`` in
``.services.env``). The job is shipped the way a cluster without the migrator installed needs it:
``dist/migrator.zip`` on ``--py-files`` and the packed dependency environment on ``--archives``,
both built once per session by ``migrator.deploy.package.build``. The driver itself runs in an
unpacked copy of that environment, so nothing is imported from the development checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from migrator.localenv import services_env
from tests.integration.conftest import ROOT, endpoints, raw_sessions, source, target

__all__ = ["endpoints", "raw_sessions", "source", "target"]  # shared with the integration tests

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
    from tests.integration.conftest import SOURCE_KS, TARGET_KS
    from tests.integration.helpers import assert_same, dump

    migrated = submitter.run("migrate", "--config", str(config))
    assert migrated.returncode == 0, explain(migrated)
    assert f"migration finished: {finished}" in output(migrated), explain(migrated)
    assert_same(dump(raw_sessions[0], SOURCE_KS, table), dump(raw_sessions[1], TARGET_KS, table))
    validated = submitter.run("validate", conf={"spark.scylla.config": str(config)})
    assert validated.returncode == 0, explain(validated)
    assert "EQUAL" in output(validated)


@pytest.fixture(scope="session")
def spark_master() -> str:
    master = services_env(ROOT).get("MIGRATOR_SPARK_MASTER")
    if not master:
        pytest.fail("no Spark standalone cluster: run `scripts/services up` (it starts one and writes "
                    "MIGRATOR_SPARK_MASTER to .services.env)")
    return master


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cluster artifacts, built once: migrator.zip, the entry script and the packed environment."""
    from migrator.deploy.package import build

    folder = tmp_path_factory.mktemp("dist")
    build(folder, env=True)
    return folder


@pytest.fixture(scope="session")
def driver_python(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unpacked copy of the packed environment: a Python with the dependencies but no migrator."""
    folder = tmp_path_factory.mktemp("driver-env")
    with tarfile.open(dist / "migrator-env.tar.gz") as archive:
        archive.extractall(folder, filter="fully_trusted")  # our own archive; keeps its symlinks
    python = folder / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import migrator"], capture_output=True, text=True, check=False,
                           cwd=folder)
    assert probe.returncode != 0, "the packed environment must not contain the migrator itself"
    return python


@pytest.fixture(scope="session")
def quiet_conf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-conf")
    # the migrator's own JVM logging settings: warnings and errors only
    (folder / "log4j2.properties").write_text((ROOT / "migrator" / "log4j2.properties").read_text())
    return folder


@pytest.fixture(scope="session")
def submitter(spark_master: str, dist: Path, driver_python: Path, quiet_conf_dir: Path) -> Submitter:
    """spark-submit from the project's Spark 4 (.venv) to the services' standalone master."""
    return Submitter(pyspark_home(ROOT / ".venv"), spark_master, dist, driver_python, quiet_conf_dir)


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


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[dict[str, str]]:
    """An S3 endpoint (moto server); the environment variables that point boto3 at it."""
    from tests.motoserver import moto_server

    with moto_server() as env:
        yield env
