"""The end-to-end path on Spark 3.5 (EMR 7's generation): a smoke run on a 3.5 standalone cluster.

The full suite runs on Spark 4 (test_spark_submit.py). Here a second cluster, from the pyspark
3.5.6 in .venv-spark35, is started on ports 7177/8180/8181 for this module only; the same zip and
packed environment are submitted to it with its own spark-submit.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.submit import VALIDATION, Submitter, migrate_and_validate, pyspark_home
from tests.support.constants import ROOT, SOURCE_KS
from tests.support.helpers import recreate, write_config

pytestmark = pytest.mark.e2e

VENV = ROOT / ".venv-spark35"
CLUSTER = ["--venv", str(VENV), "--name", "spark35", "--port-offset", "100"]
SCRIPT = str(ROOT / "scripts" / "spark_standalone.py")


@pytest.fixture(scope="module")
def spark35_master() -> Iterator[str]:
    if not (VENV / "bin" / "python").exists():
        pytest.fail(f"{VENV} is missing: run MIGRATOR_VENV=.venv-spark35 MIGRATOR_PYSPARK_VERSION=3.5.6 "
                    "scripts/setup (scripts/test does)")
    started = subprocess.run([sys.executable, SCRIPT, "up", *CLUSTER], capture_output=True, text=True, check=False)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Spark 3.5." in started.stdout, started.stdout
    try:
        yield started.stdout.strip().splitlines()[-1].partition("=")[2]
    finally:
        subprocess.run([sys.executable, SCRIPT, "down", *CLUSTER], capture_output=True, check=False)


def test_migrate_and_validate_on_spark_35(spark35_master: str, dist: Path, driver_python: Path,
                                          quiet_conf_dir: Path, source, target, raw_sessions, endpoints,
                                          tmp_path: Path):
    submitter = Submitter(pyspark_home(VENV), spark35_master, dist, driver_python, quiet_conf_dir)
    recreate(source, target, "e2e_spark35", "(id int, part int, v text, PRIMARY KEY (part, id))")
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.e2e_spark35 (part, id, v) VALUES (?, ?, ?) USING TTL 7200")
    for i in range(500):
        source.execute(insert, (i % 10, i, f"v{i}"))
    config = write_config(tmp_path, endpoints, "e2e_spark35", source={"preserveTimestamps": True},
                          top={"validation": VALIDATION})
    migrate_and_validate(submitter, config, "e2e_spark35", raw_sessions, "8/8 ranges, 500 rows")
