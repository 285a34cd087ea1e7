"""What the test suites share: constants, the cluster fixtures, helpers for tables, configs and the CLI.

``tests/conftest.py`` registers :mod:`tests.support.fixtures` as a pytest plugin, so its fixtures
reach every test directory; constants and helpers are imported from their modules here, never
from a ``conftest.py``.
"""
