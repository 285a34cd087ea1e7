"""Print the project's runtime requirements, one per line, without pyspark.

Used by docker/Dockerfile: the image takes PySpark from the Spark distribution it is built on
($SPARK_HOME/python), so the Python half of Spark always matches the JVM half on every node. Reading
the list from pyproject.toml keeps one place for the dependencies.

    python3.11 runtime_requirements.py pyproject.toml > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PROVIDED_BY_IMAGE = {"pyspark"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement (``PyYAML>=6`` -> ``pyyaml``)."""
    match = NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def runtime_requirements(pyproject: Path) -> list[str]:
    """``[project] dependencies`` of ``pyproject``, minus what the Spark image already provides."""
    with pyproject.open("rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    return [d for d in dependencies if requirement_name(d) not in PROVIDED_BY_IMAGE]


def main(argv: list[str]) -> int:
    """Print the requirements of the pyproject.toml named by ``argv[1]``."""
    if len(argv) != 2:
        print("usage: runtime_requirements.py PYPROJECT_TOML", file=sys.stderr)
        return 2
    print("\n".join(runtime_requirements(Path(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
