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

from scripts.localenv import DYNAMODB_URL_KEYS, dynamodb_urls

__all__ = ["DYNAMODB_URL_KEYS", "dynamodb_urls"]
