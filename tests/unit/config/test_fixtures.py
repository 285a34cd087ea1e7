"""Every fixture (upstream-style configs) and every example config loads, with the values written."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.config import (
    AlternatorSource,
    AlternatorTarget,
    CassandraSource,
    CassandraTarget,
    DynamoDBS3ExportSource,
    DynamoDBS3ExportTarget,
    DynamoDBSource,
    DynamoDBTarget,
    MySQLSource,
    ParquetSource,
    ParquetTarget,
    load_config,
)
from migrator.config.savepoints import FilesystemStore, GcsStore, S3Store

from .helpers import EXAMPLES, FIXTURE_ENV, FIXTURES

FIXTURE_FILES = sorted(FIXTURES.glob("*.yaml"))
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def load(name: str):
    return load_config(FIXTURES / name, environ=FIXTURE_ENV)


def test_fixture_and_example_sets_are_complete() -> None:
    assert len(FIXTURE_FILES) == 17
    assert {p.name for p in EXAMPLE_FILES} >= {
        "cassandra-to-cassandra.yaml",
        "cassandra-to-scylla-preserve-timestamps.yaml",
        "dynamodb-to-alternator.yaml",
        "parquet-to-scylla.yaml",
    }


@pytest.mark.parametrize("path", FIXTURE_FILES + EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_file_loads(path: Path) -> None:
    loaded = load_config(path, environ=FIXTURE_ENV)
    assert loaded.source == str(path)
    assert loaded.raw["source"]["type"] == loaded.model.source.type
    assert loaded.raw["target"]["type"] == loaded.model.target.type


def _names_for(kind: str) -> set[str]:
    """The file-name spellings of a ``type``: CQL types are interchangeable, ``dynamo`` is ``dynamodb``."""
    if kind in ("cassandra", "scylla"):
        return {"cassandra", "scylla"}
    return {"dynamodb"} if kind == "dynamo" else {kind}


@pytest.mark.parametrize("path", FIXTURE_FILES + EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_names_follow_source_to_target(path: Path) -> None:
    model = load_config(path, environ=FIXTURE_ENV).model
    source_name, rest = path.stem.split("-to-", 1)
    assert source_name in _names_for(model.source.type)
    assert any(rest == name or rest.startswith(f"{name}-") for name in _names_for(model.target.type))


def test_local_example_matches_the_local_services() -> None:
    model = load_config(EXAMPLES / "cassandra-to-cassandra.yaml", environ={}).model
    assert isinstance(model.source, CassandraSource)
    assert isinstance(model.target, CassandraTarget)
    assert (model.source.host, model.source.port, model.source.keyspace, model.source.table) == (
        "127.0.0.1",
        9042,
        "demo",
        "events",
    )
    assert (model.target.host, model.target.port, model.target.keyspace, model.target.table) == (
        "127.0.0.1",
        9043,
        "demo",
        "events",
    )
    assert (model.savepoints.path, model.savepoints.interval_seconds) == ("savepoints", 5)
    assert model.validation is not None and model.validation.failures_to_fetch == 100


def test_preserve_timestamps_example() -> None:
    model = load_config(EXAMPLES / "cassandra-to-scylla-preserve-timestamps.yaml", environ={}).model
    assert isinstance(model.source, CassandraSource) and model.source.preserve_timestamps is True
    assert model.target.type == "scylla"


def test_basic_defaults() -> None:
    model = load("cassandra-to-scylla-basic.yaml").model
    assert isinstance(model.source, CassandraSource)
    assert model.source.split_count is None and model.source.connections is None
    assert model.source.credentials is None and model.source.ssl_options is None
    assert model.renames == [] and model.skip_token_ranges == [] and model.validation is None
    assert (model.savepoints.path, model.savepoints.interval_seconds) == ("savepoints", 300)
    assert model.savepoints.location == "savepoints"
    assert model.token_type == "long"


def test_savepoint_fixture() -> None:
    model = load("cassandra-to-scylla-savepoints.yaml").model
    source, target = model.source, model.target
    assert isinstance(source, CassandraSource) and isinstance(target, CassandraTarget)
    assert source.type == "scylla" and source.local_dc == "dc1"
    assert (source.split_count, source.connections, source.fetch_size) == (256, 8, 1000)
    assert source.consistency_level == "LOCAL_ONE"  # written lower-case
    assert source.where == "region = 'eu' ALLOW FILTERING"
    assert (target.write_ttl_in_s, target.write_writetimestamp_in_us) == (3600, 1_700_000_000_000_000)
    assert target.drop_null_primary_keys is True and target.strip_trailing_zeros_for_decimals is True
    assert model.skip_token_ranges == [
        (-9223372036854775808, -4611686018427387904),
        (4611686018427387904, 9223372036854775807),
    ]
    assert model.token_type == "long"
    state = model.migrator_state
    assert state is not None
    assert (state.kind, state.split_count, state.rows_copied, state.ranges_done, state.ranges_total) == (
        "migrate",
        256,
        123456,
        2,
        256,
    )
    assert state.counts == {"rowsRead": 123456, "rowsDroppedNullKey": 0}
    assert state.written_at == "2026-06-11T10:15:00Z"  # a string, not a YAML timestamp
    assert state.partitioner == "org.apache.cassandra.dht.Murmur3Partitioner"


def test_ssl_and_credentials_fixture() -> None:
    model = load("cassandra-to-scylla-ssl-credentials.yaml").model
    source = model.source
    assert isinstance(source, CassandraSource)
    assert source.credentials is not None and source.credentials.password == "s3cr3t-source"
    ssl = source.ssl_options
    assert ssl is not None
    assert (ssl.enabled, ssl.client_auth_enabled, ssl.trust_store_type, ssl.key_store_type) == (
        True,
        True,
        "PKCS12",
        "JKS",
    )
    assert ssl.protocol == "TLSv1.2"
    assert ssl.enabled_algorithms == ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
    target = model.target
    assert isinstance(target, CassandraTarget)
    assert target.host == "[2001:db8::1]" and target.contact_host == "2001:db8::1"
    assert target.credentials is not None and target.credentials.password == "target-pw"
    assert target.ssl_options is not None
    assert target.ssl_options.enabled_algorithms == [
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
    ]
    assert (target.ssl_options.trust_store_type, target.ssl_options.protocol) == ("JKS", "TLS")
    assert model.rename_map == {"old_name": "new_name", "Payload": "body"}
    assert [(r.from_, r.to) for r in model.renames] == [("old_name", "new_name"), ("Payload", "body")]


def test_validation_fixture() -> None:
    validation = load("cassandra-to-scylla-validation.yaml").model.validation
    assert validation is not None
    assert validation.compare_timestamps is True
    assert (validation.ttl_tolerance_millis, validation.writetime_tolerance_millis) == (60000, 1000)
    assert (validation.failures_to_fetch, validation.floating_point_tolerance) == (100, 0.001)
    assert validation.timestamp_ms_tolerance == 0
    assert validation.copy_missing_rows is True
    assert validation.repair_writetime_strategy == "config"
    assert validation.hash_columns == ["payload", "blob"]
    assert validation.numeric_type_policy == "DetectWiden"


def test_random_partitioner_fixture() -> None:
    model = load("cassandra-to-scylla-random-partitioner.yaml").model
    assert model.token_type == "bigint"
    assert model.skip_token_ranges == [
        (-1, 85070591730234615865843651857942052864),
        (85070591730234615865843651857942052864, 2**127),
    ]


def test_bare_token_ranges_fixture() -> None:
    model = load("cassandra-to-scylla-bare-token-ranges.yaml").model
    assert model.skip_token_ranges == [(-100, 0), (0, 100)]
    assert model.token_type == "long"


def test_cloud_fixture() -> None:
    source = load("cassandra-to-scylla-cloud.yaml").model.source
    assert isinstance(source, CassandraSource)
    assert source.cloud is not None
    assert source.cloud.secure_bundle_path == "s3a://bundles/secure-connect-db.zip"
    assert source.host is None and source.port is None


def test_parquet_target_fixture() -> None:
    target = load("cassandra-to-parquet-export.yaml").model.target
    assert isinstance(target, ParquetTarget)
    assert (target.path, target.compression, target.mode) == ("/data/export/tbl", "zstd", "overwrite")


def test_parquet_source_fixture() -> None:
    model = load("parquet-to-scylla-s3-assume-role.yaml").model
    source = model.source
    assert isinstance(source, ParquetSource)
    assert source.backend == "parquet" and source.supports_savepoints is True
    assert source.credentials is not None and source.credentials.assume_role is not None
    assert source.credentials.assume_role.session_name == "scylla-migrator"
    assert source.endpoint is not None and source.endpoint.url == "https://sts.eu-west-1.amazonaws.com:443"
    assert model.savepoints.enable_parquet_file_tracking is True
    assert model.skip_parquet_files == [  # a set: sorted, duplicates dropped
        "s3a://my-bucket/export/part-00000.parquet",
        "s3a://my-bucket/export/part-00001.parquet",
    ]


def test_dynamodb_to_alternator_fixture() -> None:
    model = load("dynamodb-to-alternator-settings.yaml").model
    source, target = model.source, model.target
    assert isinstance(source, DynamoDBSource) and isinstance(target, AlternatorTarget)
    assert (source.scan_segments, source.read_throughput, source.max_map_tasks) == (32, 2000, 16)
    assert source.throughput_read_percent == 0.8
    assert source.remove_consumed_capacity is False
    assert target.billing_mode == "PAY_PER_REQUEST"
    assert target.throughput_write_percent == 1.5
    settings = target.alternator_settings()
    assert (settings.datacenter, settings.rack, settings.max_connections) == ("dc1", "rack1", 400)
    assert (settings.connection_time_to_live_ms, settings.max_items_per_batch) == (0, 100)
    assert settings.compression is True and settings.optimize_headers is True
    assert model.skip_segments == [1, 3, 5]
    assert model.rename_map == {"payload": "body"}


def test_dynamodb_streams_fixture() -> None:
    model = load("dynamodb-to-dynamodb-streams.yaml").model
    assert isinstance(model.source, DynamoDBSource) and model.source.type == "dynamo"
    assert isinstance(model.target, DynamoDBTarget) and model.target.stream_changes is True
    creds = model.source.credentials
    assert creds is not None and creds.assume_role is not None
    assert creds.assume_role.session_name == "orders-migration"
    assert model.savepoints.location == "s3a://bucket/savepoints"


def test_alternator_source_fixture() -> None:
    model = load("alternator-to-dynamodb-basic.yaml").model
    assert isinstance(model.source, AlternatorSource)
    assert model.source.remove_consumed_capacity is False
    assert model.source.max_items_per_batch == 25
    assert isinstance(model.target, DynamoDBTarget)
    assert model.target.endpoint is not None
    assert model.target.endpoint.url == "http://dynamodb.us-east-1.amazonaws.com:443"
    store = model.savepoints.target
    assert isinstance(store, FilesystemStore)
    assert model.savepoints.location == "/var/lib/migrator/savepoints"


def test_s3_export_target_fixture() -> None:
    model = load("dynamodb-to-dynamodb-s3-export-basic.yaml").model
    assert isinstance(model.target, DynamoDBS3ExportTarget) and model.target.path == "s3a://exports/events"
    assert isinstance(model.savepoints.target, S3Store)
    assert model.savepoints.location == "s3a://migrator-state/events/savepoints"


def test_s3_export_source_fixture() -> None:
    source = load("dynamodb-s3-export-to-alternator-table-description.yaml").model.source
    assert isinstance(source, DynamoDBS3ExportSource)
    assert source.supports_savepoints is True  # ours, per data file (upstream has none)
    table = source.table_description
    assert [(a.name, a.type) for a in table.attribute_definitions] == [("id", "S"), ("ts", "N")]
    assert [(k.name, k.type) for k in table.key_schema] == [("id", "HASH"), ("ts", "RANGE")]
    assert table.provisioned_throughput is not None
    assert table.provisioned_throughput.write_capacity_units == 200
    assert source.use_path_style_access is True


def test_mysql_fixture() -> None:
    model = load("mysql-to-scylla-partitioned.yaml").model
    source = model.source
    assert isinstance(source, MySQLSource)
    assert source.supports_savepoints is False
    assert (source.partition_column, source.num_partitions, source.lower_bound, source.upper_bound) == (
        "id",
        16,
        1,
        1_000_000,
    )
    assert source.zero_date_time_behavior == "CONVERT_TO_NULL"
    assert source.fetch_size == 5000
    assert source.connection_properties == {"useSSL": "true", "serverTimezone": "UTC"}
    assert source.credentials.password == "mysql-pw"
    assert model.validation is not None and model.validation.hash_columns == ["notes"]


def test_gcs_savepoints_fixture() -> None:
    savepoints = load("cassandra-to-scylla-savepoints-gcs.yaml").model.savepoints
    assert isinstance(savepoints.target, GcsStore)
    assert savepoints.location == "gs://migrator-state/ks/tbl"
    assert savepoints.auto_resume is True and savepoints.interval_seconds == 600


def test_env_vars_fixture() -> None:
    loaded = load("cassandra-to-scylla-env-vars.yaml")
    source = loaded.model.source
    assert isinstance(source, CassandraSource)
    assert (source.host, source.port, source.fetch_size, source.preserve_timestamps) == (
        "10.1.1.1",
        9042,
        1000,
        False,
    )
    assert source.credentials is not None
    assert (source.credentials.username, source.credentials.password) == ("cassandra", "source-pw")
    assert source.keyspace == "ks_prod" and loaded.model.target.keyspace == "ks_prod"
    assert source.where == "note = 'costs ${PRICE}'"
    assert loaded.model.savepoints.path == "savepoints/ks_prod"
    assert loaded.raw["source"]["host"] == "${SOURCE_HOST}"
    assert loaded.raw["source"]["credentials"]["password"] == "${SOURCE_PASSWORD}"
    assert loaded.raw["source"]["where"] == "note = 'costs $${PRICE}'"
