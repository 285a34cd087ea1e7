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
    # without the bench's own kill-and-resume check: tests/integration/test_kill_loop.py kills for real (CI time);
    # the wait for idle databases before each phase samples their CPU once (1 s) instead of up to 3 quiet seconds
    run = subprocess.run([sys.executable, "-m", "bench", "--rows", "3000", "--splits", "4", "--master", "local[2]",
                          "--no-resume-check", "--settle-limit", "1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ))
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RESULT migrate_ratio=\S+ validate_ratio=\S+ migrate_rows_per_s=\d+ validate_rows_per_s=\d+",
                        last), last
