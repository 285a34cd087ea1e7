"""The local services' addresses: what ``scripts/services up`` wrote to ``.services.env``.

Read by the tests, the demo and the benchmark. Variables of the same name in the environment win,
so a run can point elsewhere without editing the file. Development tooling, not part of the
``migrator`` package: import it as ``scripts.localenv`` from the repository root (``python -m bench``,
pytest), or as ``localenv`` from a script run out of ``scripts/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root: this file is scripts/localenv.py
KEYS = ("MIGRATOR_SOURCE_HOST", "MIGRATOR_SOURCE_PORT", "MIGRATOR_TARGET_HOST", "MIGRATOR_TARGET_PORT")
DYNAMODB_URL_KEYS = {
    "dynalite-source": "MIGRATOR_DYNALITE_SOURCE_URL",
    "dynalite-target": "MIGRATOR_DYNALITE_TARGET_URL",
    "moto-source": "MIGRATOR_MOTO_SOURCE_URL",
    "moto-target": "MIGRATOR_MOTO_TARGET_URL",
}


def services_env(root: Path = ROOT, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``root/.services.env`` (comments skipped), overridden by the environment."""
    environ = os.environ if environ is None else environ
    env: dict[str, str] = {}
    path = root / ".services.env"
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                env[key.strip()] = value.strip()
    for key in [*env, *KEYS]:
        if key in environ:
            env[key] = environ[key]
    return env


def require_services(command: str) -> dict[str, str]:
    """The addresses, or exit with a hint when the services were never started."""
    env = services_env()
    if not all(k in env for k in KEYS):
        raise SystemExit(f"{command}: .services.env is missing; run scripts/services up")
    return env


def dynamodb_urls(root: Path = ROOT, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The endpoint URL of each DynamoDB server by name (``"dynalite-source"`` ...); one `up` did not start is absent.

    `up` skips dynalite without Node.js 20+; a caller that needs an absent server should say so.
    """
    environ = os.environ if environ is None else environ
    env = {**services_env(root, environ), **{key: environ[key] for key in DYNAMODB_URL_KEYS.values() if key in environ}}
    return {name: env[key] for name, key in DYNAMODB_URL_KEYS.items() if env.get(key)}
