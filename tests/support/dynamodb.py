"""The endpoint URLs of the local DynamoDB-compatible servers that ``scripts/services up`` starts.

Two independent implementations, a source and a target each (``scripts/dynamodb_servers.py`` runs
them and writes these names to ``.services.env``; variables of the same name in the environment win):

    dynalite-source  MIGRATOR_DYNALITE_SOURCE_URL  http://127.0.0.1:8100  LevelDB on disk: tables outlive a restart
    dynalite-target  MIGRATOR_DYNALITE_TARGET_URL  http://127.0.0.1:8101
    moto-source      MIGRATOR_MOTO_SOURCE_URL      http://127.0.0.1:8200  in memory: a restart empties it
    moto-target      MIGRATOR_MOTO_TARGET_URL      http://127.0.0.1:8201

Both take any credentials (say ``aws_access_key_id="x"``) and region; moto keeps tables per region,
dynalite shares them across regions, so use one region (``us-east-1``). The servers are shared by
every test run: create tables under unique names. Nothing here starts a server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from scripts.localenv import services_env
from tests.support.constants import ROOT

DYNAMODB_URL_KEYS = {
    "dynalite-source": "MIGRATOR_DYNALITE_SOURCE_URL",
    "dynalite-target": "MIGRATOR_DYNALITE_TARGET_URL",
    "moto-source": "MIGRATOR_MOTO_SOURCE_URL",
    "moto-target": "MIGRATOR_MOTO_TARGET_URL",
}


def dynamodb_urls(root: Path = ROOT, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The endpoint URL of each server, by name (``"dynalite-source"`` ...); a server `up` did not start is absent.

    A test that needs one the result lacks should skip, naming it: `up` skips dynalite without Node.js 20+.
    """
    environ = os.environ if environ is None else environ
    env = {**services_env(root, environ), **{key: environ[key] for key in DYNAMODB_URL_KEYS.values() if key in environ}}
    return {name: env[key] for name, key in DYNAMODB_URL_KEYS.items() if env.get(key)}
