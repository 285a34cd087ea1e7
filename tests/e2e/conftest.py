"""Fixtures for end-to-end runs: spark-submit to a real standalone cluster, as a user would.

The cluster is the one ``scripts/services up`` starts (``MIGRATOR_SPARK_MASTER`` in
``.services.env``). The job is shipped the way a cluster without the migrator installed needs it:
``dist/migrator.zip`` on ``--py-files`` and the packed dependency environment on ``--archives``,
both built once per session by ``migrator.deploy.package.build``. The driver itself runs in an
unpacked copy of that environment, so nothing is imported from the development checkout.

The clusters' fixtures (``source``, ``target``, ``raw_sessions``, ``endpoints``) come from
:mod:`tests.support.fixtures`; the spark-submit helpers the tests import are in ``submit.py``.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.localenv import services_env
from tests.e2e.submit import Submitter, pyspark_home
from tests.support.constants import ROOT


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


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[dict[str, str]]:
    """An S3 endpoint (moto server); the environment variables that point boto3 at it."""
    from tests.motoserver import moto_server

    with moto_server() as env:
        yield env
