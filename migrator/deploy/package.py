"""Build what a Spark cluster needs to run the migrator (``migrator package``).

Into ``dist/``:

* ``migrator.zip``: the ``migrator`` package. Spark puts ``--py-files`` entries on the executors'
  ``sys.path`` only when they end in ``.zip``, ``.egg`` or ``.jar``, so a wheel would not import.
  The archive is reproducible: sorted entries and fixed timestamps, so equal code gives equal bytes.
* ``migrator_entry.py``: the script spark-submit runs; it hands its arguments to ``migrator.cli``.
* ``requirements.txt``: the runtime dependencies, for nodes that install them with pip (EMR).
* ``migrator-env.tar.gz`` (unless ``--no-env``): a venv-pack archive of a virtualenv holding those
  dependencies, for ``--archives migrator-env.tar.gz#environment`` on workers that lack them.
  pyspark is left out: Spark puts its own ``pyspark.zip`` on every worker's ``PYTHONPATH``.
  venv-pack does not copy the interpreter, so every node needs the same Python at the same path.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from migrator.errors import RuntimeFailure, UsageError

log = logging.getLogger(__name__)

ZIP_NAME = "migrator.zip"
ENTRY_NAME = "migrator_entry.py"
REQUIREMENTS_NAME = "requirements.txt"
ENV_NAME = "migrator-env.tar.gz"
ENV_ALIAS = "environment"  # the folder name Spark unpacks the archive into (the part after '#')

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_PROVIDED_BY_SPARK = {"pyspark"}

ENTRY_SCRIPT = '''\
"""spark-submit entry point: spark-submit [...] --py-files migrator.zip migrator_entry.py COMMAND [...]."""

import sys

from migrator.cli import main

sys.exit(main())
'''


@dataclass(frozen=True)
class Artifacts:
    """Paths of the files a cluster run needs; ``env`` is None when it was not built."""

    zip: Path
    entry: Path
    requirements: Path
    env: Path | None = None


def package_root() -> Path:
    """The directory of the ``migrator`` package being packaged (the one running now)."""
    return Path(__file__).resolve().parent.parent


def build_zip(target: Path, root: Path | None = None) -> Path:
    """Write the ``migrator`` package into the zip ``target``, reproducibly; returns ``target``."""
    root = root or package_root()
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )
    temp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"{root.name}/{path.relative_to(root).as_posix()}", _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    temp.replace(target)
    return target


def runtime_requirements() -> list[str]:
    """The installed migrator's dependencies without extras, minus what Spark provides."""
    try:
        declared = metadata.requires("migrator") or []
    except metadata.PackageNotFoundError:
        raise UsageError("the migrator is not installed, so its dependencies are unknown",
                         hint="run scripts/setup (or pip install -e .) first") from None
    kept = []
    for requirement in declared:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        name = re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0]
        if name.lower() not in _PROVIDED_BY_SPARK:
            kept.append(spec.strip())
    return kept


def build_env(target: Path, requirements: list[str], python: str) -> Path:
    """Create a virtualenv with ``requirements`` using ``python``, and pack it into ``target``."""
    work = target.parent / "env-build"
    shutil.rmtree(work, ignore_errors=True)
    _run([python, "-m", "venv", str(work)], "create the virtualenv")
    pip = [str(work / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run([*pip, "install", "venv-pack", *requirements], "install the dependencies")
    _run([str(work / "bin" / "venv-pack"), "--prefix", str(work), "--output", str(target), "--force",
          "--quiet"], "pack the virtualenv")
    shutil.rmtree(work, ignore_errors=True)
    return target


def build(dist: Path = Path("dist"), *, env: bool = True, python: str | None = None) -> Artifacts:
    """Build every artifact into ``dist`` (created if needed) and return their paths."""
    dist.mkdir(parents=True, exist_ok=True)
    requirements = runtime_requirements()
    zip_path = build_zip(dist / ZIP_NAME)
    entry = dist / ENTRY_NAME
    entry.write_text(ENTRY_SCRIPT, encoding="utf-8")
    req_path = dist / REQUIREMENTS_NAME
    req_path.write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
    env_path = build_env(dist / ENV_NAME, requirements, python or sys.executable) if env else None
    return Artifacts(zip=zip_path, entry=entry, requirements=req_path, env=env_path)


def submit_line(artifacts: Artifacts, master: str = "spark://HOST:7077") -> str:
    """The spark-submit command line that runs a migration with these artifacts."""
    parts = ["spark-submit", f"--master {master}", f"--py-files {artifacts.zip}"]
    if artifacts.env is not None:
        parts += [f"--archives {artifacts.env}#{ENV_ALIAS}",
                  f"--conf spark.pyspark.python=./{ENV_ALIAS}/bin/python"]
    parts += [str(artifacts.entry), "migrate --config config.yaml"]
    return " \\\n  ".join(parts)


def _run(command: list[str], what: str) -> None:
    log.info("package: %s", " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RuntimeFailure(f"could not {what} (exit {done.returncode}):\n{tail}")
