"""Registers the shared fixtures of :mod:`tests.support.fixtures` for every test directory, once.

Hypothesis runs without its per-example deadline: a wall-clock limit fails a correct property on a
busy machine (the suite never asserts timings; benchmarks measure them).
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("migrator", deadline=None)
settings.load_profile("migrator")

pytest_plugins = ["tests.support.fixtures"]
