"""Registers the shared fixtures of :mod:`tests.support.fixtures` for every test directory, once."""

from __future__ import annotations

pytest_plugins = ["tests.support.fixtures"]
