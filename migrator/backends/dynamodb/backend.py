"""The DynamoDB/Alternator backend object that ``backends.base.backend_for`` loads.

It serves ``type: dynamodb`` (alias ``dynamo``) and ``type: alternator`` on both sides: ScyllaDB's
Alternator speaks the DynamoDB API, and what differs (endpoint rules, request settings) is carried by
the client spec, not by separate code paths. Work is split into parallel-scan segments, copied or
compared segment by segment (a comparison probes the other table: ``compare``).
"""

from __future__ import annotations

from migrator.backends.base import Capabilities
from migrator.backends.dynamodb.prepare import DynamoRun, prepare
from migrator.config import MigratorConfig


class DynamoDBBackend:
    """Parallel-scan segments of a DynamoDB or Alternator table, copied or compared segment by segment."""

    name = "dynamodb"
    types = ("dynamodb", "dynamo", "alternator")
    writes_to = ("dynamodb",)
    capabilities = Capabilities(resumable=True, creates_target=True, ordered_scan=False, repairs=True)

    def check(self, config: MigratorConfig) -> None:
        """Nothing beyond the config's own rules; connects nowhere."""

    def prepare(self, config: MigratorConfig, *, parallelism: int) -> DynamoRun:
        """Describe both tables, check the target's key, plan the segments."""
        return prepare(config, parallelism=parallelism)


BACKEND = DynamoDBBackend()
