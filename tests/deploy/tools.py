"""Finding the deployment linters that ``scripts/setup-tools`` installs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def find_tool(name: str) -> str:
    """``name`` on PATH, else in <repo>/.venv-tools/bin; fails the test with the install command."""
    found = shutil.which(name) or shutil.which(name, path=str(TOOLS_BIN))
    if found is None:
        pytest.fail(f"{name} is not installed (looked on PATH and in {TOOLS_BIN}); install it with "
                    "scripts/setup-tools", pytrace=False)
    return found
