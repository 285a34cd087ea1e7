"""Keeps the benchmark runnable: a tiny run must end with a well-formed RESULT line (no timing asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.constants import ROOT

pytestmark = pytest.mark.integration


def test_bench_smoke_run_prints_a_result_line(endpoints):
    # throttled, so that the SIGKILL-and-resume check finds the copy still running half way
    env = {**os.environ, "MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "300"}
    run = subprocess.run([sys.executable, "-m", "bench", "--rows", "3000", "--splits", "4", "--master", "local[2]"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"the resume re-did [0-2] split\(s\)", run.stdout), run.stdout
    last = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RESULT migrate_ratio=\S+ validate_ratio=\S+ migrate_rows_per_s=\d+ validate_rows_per_s=\d+",
                        last), last
