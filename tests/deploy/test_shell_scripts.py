"""Every shell script the project ships or runs passes shellcheck."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.deploy.tools import ROOT, find_tool


def _bash_scripts() -> list[Path]:
    candidates = [*sorted((ROOT / "scripts").iterdir()), ROOT / ".ci" / "run", ROOT / "docker" / "entrypoint.sh",
                  ROOT / "migrator" / "deploy" / "emr" / "bootstrap.sh"]
    shebangs = ("#!/usr/bin/env bash", "#!/bin/bash")
    return [p for p in candidates if p.is_file() and p.read_text(errors="replace").startswith(shebangs)]


@pytest.mark.parametrize("script", _bash_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_shellcheck_is_clean(script: Path) -> None:
    result = subprocess.run([find_tool("shellcheck"), "--severity=style", str(script)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scripts_are_found() -> None:
    names = {p.name for p in _bash_scripts()}
    assert {"setup", "test", "demo", "package", "setup-tools", "run", "entrypoint.sh", "bootstrap.sh"} <= names
