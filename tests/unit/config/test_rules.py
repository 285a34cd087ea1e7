"""Cross-field and parse-time rules from the upstream decoder (reference 0.1 and A)."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.config import CassandraSource, MySQLSource, ParquetTarget, load_config

from .helpers import (
    ALTERNATOR_TARGET,
    DYNAMO_SOURCE,
    cql_tree,
    load_tree,
    narrow,
    problems,
    to_yaml,
    with_source,
    with_target,
)


def dynamo_tree(source: dict | None = None, target: dict | None = None, **top: object) -> dict:
    return cql_tree(
        source={**DYNAMO_SOURCE, **(source or {})}, target={**ALTERNATOR_TARGET, **(target or {})}, **top
    )


def alternator_source(**keys: object) -> dict:
    return {"type": "alternator", "table": "t", "endpoint": {"host": "http://10.0.0.1", "port": 8000}, **keys}


# ----- CQL -------------------------------------------------------------------------------------------------


def test_consistency_level_is_case_insensitive_and_normalised() -> None:
    source = narrow(load_tree(with_source(consistencyLevel="local_quorum")).model.source, CassandraSource)
    assert source.consistency_level == "LOCAL_QUORUM"


@pytest.mark.parametrize("host", ["10.0.0.1", "::1", "[2001:db8::1]", "cassandra-1.example.com", "db_1"])
def test_hosts_accepted(host: str) -> None:
    assert narrow(load_tree(with_source(host=host)).model.source, CassandraSource).host == host


@pytest.mark.parametrize("host", ["10.0.0.1,10.0.0.2", "db.example.com/x", "user@db", "-bad-", "a b"])
def test_hosts_refused(host: str) -> None:
    assert list(problems(with_source(host=host))) == ["source.host"]


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/app/bundle.zip", True),
        ("bundle.zip", True),
        ("https://example.com/bundle.zip", True),
        ("s3://bucket/bundle.zip", True),
        ("file:///app/bundle.zip", True),
        ("http://example.com/bundle.zip", False),
        ("https://user@example.com/bundle.zip", False),
        ("https://example.com/bundle.zip?sig=1", False),
        ("bundles/bundle.zip", False),
    ],
)
def test_secure_bundle_path(path: str, ok: bool) -> None:
    tree = with_source(host=None, port=None, cloud={"secureBundlePath": path})
    if ok:
        cloud = narrow(load_tree(tree).model.source, CassandraSource).cloud
        assert cloud is not None and cloud.secure_bundle_path == path
    else:
        assert list(problems(tree)) == ["source.cloud.secureBundlePath"]


def test_cloud_conflicts_with_ssl_options() -> None:
    tree = with_source(
        host=None,
        port=None,
        cloud={"secureBundlePath": "/b.zip"},
        sslOptions={"enabled": True, "clientAuthEnabled": False},
    )
    assert list(problems(tree)) == ["source.sslOptions"]


def test_ssl_options_require_enabled_and_client_auth() -> None:
    found = problems(with_source(sslOptions={"trustStorePath": "/t.jks"}))
    assert set(found) == {"source.sslOptions.enabled", "source.sslOptions.clientAuthEnabled"}
    assert found["source.sslOptions.enabled"].startswith(
        "missing required key 'enabled'; for example: enabled: true"
    )


def test_target_optional_integers() -> None:
    found = problems(
        with_target(writeTTLInS=0, writeWritetimestampInuS="soon", dropNullPrimaryKeys="perhaps")
    )
    assert found["target.writeTTLInS"].startswith("must be greater than 0, got 0")
    assert found["target.writeWritetimestampInuS"].startswith("expected an integer, got 'soon'")
    assert found["target.dropNullPrimaryKeys"].startswith("expected true or false, got 'perhaps'")


def test_strip_trailing_zeros_is_required() -> None:
    assert list(problems(with_target(stripTrailingZerosForDecimals=None))) == [
        "target.stripTrailingZerosForDecimals"
    ]


def test_renames_collide_only_on_the_exact_name() -> None:
    tree = cql_tree(renames=[{"from": "a", "to": "x"}, {"from": "b", "to": "x"}, {"from": "a", "to": "y"}])
    assert problems(tree) == {
        "renames[1].to": "'x' is already the new name in renames[0]; two columns would collide (line 22)",
        "renames[2].from": "'a' is already renamed by renames[0] (line 23)",
    }


def test_names_that_need_quoting_load_exactly_everywhere_a_column_is_named() -> None:
    """Case, reserved words, quotes, spaces and non-ASCII: each name is kept exactly as written."""
    odd = ['camelCol', 'camelcol', 'order', 'say "hi"', "it's", "with space", "a.b:#[", "Ünïcode", "日本"]
    validation = {"compareTimestamps": True, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                  "failuresToFetch": 1, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0,
                  "hashColumns": odd, "ignoreColumns": odd, "columnTolerances": {name: 0.5 for name in odd}}
    tree = cql_tree(renames=[{"from": name, "to": f"{name} ✓"} for name in odd], validation=validation)
    tree["source"]["keyspace"], tree["source"]["table"] = "MyKs", "select"
    config = load_tree(tree).model
    assert config.rename_map == {name: f"{name} ✓" for name in odd}
    assert config.validation is not None
    assert config.validation.ignore_columns == odd and config.validation.hash_columns == odd
    assert list(config.validation.column_tolerances) == odd
    source = narrow(config.source, CassandraSource)
    assert (source.keyspace, source.table) == ("MyKs", "select")


def test_a_keyspace_or_table_in_cql_quotes_is_refused_with_the_exact_spelling() -> None:
    found = problems(with_source(keyspace='"MyKs"', table='"Events"'))
    assert found["source.keyspace"] == ("names here are exact and case-sensitive, without CQL quotes: write MyKs "
                                        '(the YAML value "MyKs", quotes included, is what was read) (line 5)')
    assert found["source.table"].startswith("names here are exact and case-sensitive, without CQL quotes: write "
                                            "Events (")


def test_rename_needs_from_and_to() -> None:
    found = problems(cql_tree(renames=[{"to": "x"}, {"from": "", "to": "y"}]))
    assert found["renames[0].from"].startswith("missing required key 'from'; for example: from: old_name")
    assert found["renames[1].from"].startswith("must not be empty")


# ----- savepoints ------------------------------------------------------------------------------------------


def test_savepoints_default_when_absent() -> None:
    savepoints = load_tree(cql_tree()).model.savepoints
    assert (savepoints.path, savepoints.interval_seconds, savepoints.target) == ("savepoints", 300, None)


def test_savepoints_interval_must_be_positive_and_given() -> None:
    assert problems(cql_tree(savepoints={"path": "sp", "intervalSeconds": 0})) == {
        "savepoints.intervalSeconds": "must be greater than 0, got 0 (line 20)"
    }
    assert list(problems(cql_tree(savepoints={"path": "sp"}))) == ["savepoints.intervalSeconds"]


def test_savepoints_path_or_target() -> None:
    both = {"path": "sp", "intervalSeconds": 5, "target": {"type": "filesystem", "path": "/x"}}
    assert problems(cql_tree(savepoints=both)) == {
        "savepoints.target": "give either 'path' or 'target', not both (line 21)"
    }
    assert list(problems(cql_tree(savepoints={"intervalSeconds": 5}))) == ["savepoints.path"]


@pytest.mark.parametrize("kind", ["hadoop", "target-table", "target-database"])
def test_refused_savepoint_store_types(kind: str) -> None:
    found = problems(cql_tree(savepoints={"intervalSeconds": 5, "target": {"type": kind}}))
    assert list(found) == ["savepoints.target.type"]
    assert found["savepoints.target.type"].startswith(f"savepoint store type '{kind}' is not supported")


def test_unknown_savepoint_store_type() -> None:
    found = problems(cql_tree(savepoints={"intervalSeconds": 5, "target": {"type": "gsc", "bucket": "b"}}))
    assert found["savepoints.target.type"].startswith(
        "unknown savepoints.target type 'gsc'; supported types: filesystem, path, s3, aws-s3, aws-bucket, "
        "gcs, "
    )
    assert "did you mean 'gcs'?" in found["savepoints.target.type"]


def test_filesystem_store_is_local_only() -> None:
    found = problems(
        cql_tree(savepoints={"intervalSeconds": 5, "target": {"type": "path", "path": "s3a://b/x"}})
    )
    assert list(found) == ["savepoints.target.path"]


def test_savepoint_store_keys_are_checked_per_type() -> None:
    store = {"type": "gcs", "bucket": "b", "region": "eu"}
    assert problems(cql_tree(savepoints={"intervalSeconds": 5, "target": store})) == {
        "savepoints.target.region": "unknown key 'region'; allowed keys here: type, bucket, prefix, "
        "projectId, credentials (line 23)"
    }


# ----- validation ------------------------------------------------------------------------------------------

VALIDATION = {
    "compareTimestamps": False,
    "ttlToleranceMillis": 0,
    "writetimeToleranceMillis": 0,
    "failuresToFetch": 10,
    "floatingPointTolerance": 0.0,
    "timestampMsTolerance": 0,
}


def test_validation_defaults() -> None:
    validation = load_tree(cql_tree(validation=VALIDATION)).model.validation
    assert validation is not None
    assert (validation.copy_missing_rows, validation.repair_writetime_strategy) == (False, "source")
    assert (validation.hash_columns, validation.numeric_type_policy) == (None, "Lenient")


def test_validation_requires_every_tolerance() -> None:
    found = problems(cql_tree(validation={"compareTimestamps": True}))
    assert set(found) == {
        "validation.ttlToleranceMillis",
        "validation.writetimeToleranceMillis",
        "validation.failuresToFetch",
        "validation.floatingPointTolerance",
        "validation.timestampMsTolerance",
    }


def test_validation_bounds() -> None:
    bad = {
        **VALIDATION,
        "ttlToleranceMillis": -1,
        "failuresToFetch": 0,
        "floatingPointTolerance": float("nan"),
        "hashColumns": ["a", "a", " "],
        "numericTypePolicy": "strict",
    }
    found = problems(cql_tree(validation=bad))
    assert found["validation.ttlToleranceMillis"].startswith("must be at least 0, got -1")
    assert found["validation.failuresToFetch"].startswith("must be greater than 0, got 0")
    assert found["validation.floatingPointTolerance"].startswith("expected a finite number")
    assert found["validation.numericTypePolicy"].startswith(
        "expected one of Lenient, DetectWiden, StrictType, got 'strict'; did you mean 'StrictType'?"
    )
    assert "validation.hashColumns[1]" not in found  # the block's rules wait until its fields are valid


def test_hash_columns_rules() -> None:
    found = problems(cql_tree(validation={**VALIDATION, "hashColumns": ["a", "a", " "]}))
    assert found == {
        "validation.hashColumns[1]": "'a' is listed twice (line 27)",
        "validation.hashColumns[2]": "must not be empty (line 28)",
    }


def test_repair_strategy_config_needs_a_target_writetime() -> None:
    tree = cql_tree(validation={**VALIDATION, "repairWritetimeStrategy": "config"})
    assert list(problems(tree)) == ["validation.repairWritetimeStrategy"]
    tree["target"]["writeWritetimestampInuS"] = 1_600_000_000_000_000
    validation = load_tree(tree).model.validation
    assert validation is not None and validation.repair_writetime_strategy == "config"


# ----- DynamoDB and Alternator -----------------------------------------------------------------------------


def test_dynamodb_refuses_alternator_keys() -> None:
    found = problems(dynamo_tree(source={"maxConnections": 10, "removeConsumedCapacity": False}))
    assert found == {
        "source.maxConnections": "'maxConnections' is an Alternator setting, not accepted with type: "
        "dynamodb; use type: alternator (line 5)",
        "source.removeConsumedCapacity": "'removeConsumedCapacity' is an Alternator setting, not accepted "
        "with type: dynamodb; use type: alternator (line 6)",
    }


def test_alternator_refuses_nested_alternator_block() -> None:
    found = problems(dynamo_tree(target={"alternator": {"datacenter": "dc1"}}))
    assert list(found) == ["target.alternator"]
    assert found["target.alternator"].startswith("Alternator settings go directly in this block")


def test_alternator_endpoint_rules() -> None:
    target = {
        **ALTERNATOR_TARGET,
        "endpoint": {"host": "10.0.0.1", "port": 8000},
        "rack": "r1",
        "credentials": {"accessKey": "a", "secretKey": "b", "assumeRole": {"arn": "arn:x"}},
    }
    found = problems(cql_tree(source=DYNAMO_SOURCE, target=target))
    assert set(found) == {"target.endpoint.host", "target.credentials.assumeRole", "target.rack"}
    no_endpoint = {k: v for k, v in ALTERNATOR_TARGET.items() if k != "endpoint"}
    assert list(problems(cql_tree(source=DYNAMO_SOURCE, target=no_endpoint))) == ["target.endpoint"]


def test_throughput_percent_bounds() -> None:
    found = problems(
        dynamo_tree(source={"throughputReadPercent": 2}, target={"throughputWritePercent": 0.05})
    )
    assert found["source.throughputReadPercent"].startswith("must be at most 1.5, got 2")
    assert found["target.throughputWritePercent"].startswith("must be at least 0.1, got 0.05")


def test_stream_changes_is_required() -> None:
    target = {k: v for k, v in ALTERNATOR_TARGET.items() if k != "streamChanges"}
    assert list(problems(cql_tree(source=DYNAMO_SOURCE, target=target))) == ["target.streamChanges"]


def test_alternator_source_streams_through_alternator_streams_not_kinesis() -> None:
    load_tree(cql_tree(source=alternator_source(), target={**ALTERNATOR_TARGET, "streamChanges": True}))
    kinesis = {"type": "kinesis", "streamArn": "arn:aws:kinesis:us-east-1:1:stream/s"}
    tree = cql_tree(source=alternator_source(), target={**ALTERNATOR_TARGET, "streamChanges": kinesis})
    assert list(problems(tree)) == ["target.streamChanges.type"]


def test_stream_changes_kinesis_form_loads() -> None:
    from migrator.config.target import KinesisStream

    kinesis = {"type": "kinesis", "streamArn": "arn:aws:kinesis:us-east-1:1:stream/s",
               "initialTimestamp": "2026-01-02T03:04:05Z", "appName": "orders-sync"}
    stream = load_tree(dynamo_tree(target={"streamChanges": kinesis})).model.target.stream_changes
    assert isinstance(stream, KinesisStream)
    assert stream.stream_arn.endswith("stream/s") and stream.initial_timestamp.year == 2026
    assert list(problems(dynamo_tree(target={"streamChanges": {"type": "kinesis"}}))) == [
        "target.streamChanges.streamArn"]
    assert problems(dynamo_tree(target={"streamChanges": "maybe"}))["target.streamChanges"].startswith(
        "expected true or false, got 'maybe'")


def test_streaming_many_tables_is_refused() -> None:
    tree = dynamo_tree(target={"streamChanges": True})
    tree["source"]["table"] = "app_*"
    del tree["target"]["table"]
    assert list(problems(tree)) == ["target.streamChanges"]


def test_alternator_source_cannot_feed_s3_export() -> None:
    tree = cql_tree(source=alternator_source(), target={"type": "dynamodb-s3-export", "path": "s3a://b/x"})
    assert list(problems(tree)) == ["target.type"]


def test_s3_export_source_cannot_stream() -> None:
    source = {
        "type": "dynamodb-s3-export",
        "bucket": "b",
        "manifestKey": "m.json",
        "tableDescription": {
            "attributeDefinitions": [{"name": "id", "type": "S"}],
            "keySchema": [{"name": "id", "type": "HASH"}],
        },
    }
    tree = cql_tree(source=source, target={**ALTERNATOR_TARGET, "streamChanges": True})
    assert list(problems(tree)) == ["target.streamChanges"]


def test_s3_export_key_schema_rules() -> None:
    source: dict[str, Any] = {
        "type": "dynamodb-s3-export",
        "bucket": "b",
        "manifestKey": "m.json",
        "tableDescription": {
            "attributeDefinitions": [{"name": "id", "type": "X"}],
            "keySchema": [{"name": "ts", "type": "RANGE"}],
        },
    }
    found = problems(cql_tree(source=source, target=ALTERNATOR_TARGET))
    assert found["source.tableDescription.attributeDefinitions[0].type"].startswith(
        "expected one of S, N, B, got 'X'"
    )
    source["tableDescription"]["attributeDefinitions"][0]["type"] = "s"
    found = problems(cql_tree(source=source, target=ALTERNATOR_TARGET))
    assert set(found) == {"source.tableDescription.keySchema", "source.tableDescription.keySchema[0].name"}


# ----- Parquet and MySQL -----------------------------------------------------------------------------------


def test_parquet_target_defaults_and_choices() -> None:
    tree = cql_tree(target={"type": "parquet", "path": "/out"})
    target = narrow(load_tree(tree).model.target, ParquetTarget)
    assert (target.compression, target.mode) == ("snappy", "error")
    tree["target"]["compression"] = "rar"
    assert problems(tree)["target.compression"].startswith(
        "expected one of none, uncompressed, snappy, gzip, lzo, brotli, lz4, zstd, got 'rar'"
    )


MYSQL = {
    "type": "mysql",
    "host": "db",
    "port": 3306,
    "database": "shop",
    "table": "orders",
    "credentials": {"username": "u", "password": "p"},
}


def mysql_problems(**keys: object) -> dict[str, str]:
    return problems(cql_tree(source={**MYSQL, **keys}))


def test_mysql_defaults() -> None:
    source = narrow(load_tree(cql_tree(source=MYSQL)).model.source, MySQLSource)
    assert (source.fetch_size, source.zero_date_time_behavior) == (1000, "EXCEPTION")


def test_mysql_credentials_required() -> None:
    source = {k: v for k, v in MYSQL.items() if k != "credentials"}
    found = problems(cql_tree(source=source))
    assert found["source.credentials"] == (
        "missing required key 'credentials'; for example: credentials: {username: migrator, password: "
        "'${MYSQL_PASSWORD}'} (in the block at line 1)"
    )


def test_mysql_partitioning_keys_go_together() -> None:
    assert mysql_problems(partitionColumn="id", numPartitions=4) == {
        "source": "partitionColumn, numPartitions, lowerBound and upperBound go together; missing: "
        "lowerBound, upperBound (line 1)"
    }


@pytest.mark.parametrize(
    ("lower", "upper", "message"),
    [
        (10, 5, "must be greater than lowerBound (10); got 5"),
        ("2024-01-01", "2023-01-01", "must be greater than lowerBound (2024-01-01); got 2023-01-01"),
        (1, "2024-01-01", "lowerBound is a integer but upperBound is a date; use one kind"),
    ],
)
def test_mysql_bounds(lower: object, upper: object, message: str) -> None:
    found = mysql_problems(partitionColumn="id", numPartitions=4, lowerBound=lower, upperBound=upper)
    assert list(found) == ["source.upperBound"]
    assert found["source.upperBound"].startswith(message)


def test_mysql_timestamp_bounds_accepted() -> None:
    tree = cql_tree(
        source={
            **MYSQL,
            "partitionColumn": "created",
            "numPartitions": 8,
            "lowerBound": "2024-01-01 00:00:00",
            "upperBound": "2024-06-01 12:30:00",
        }
    )
    assert narrow(load_tree(tree).model.source, MySQLSource).num_partitions == 8


def test_mysql_other_rules() -> None:
    found = mysql_problems(
        table="orders;drop",
        fetchSize=200_000,
        where="  ",
        connectionProperties={"allowLoadLocalInfile": "true"},
    )
    assert found["source.table"].startswith("'orders;drop' is not a plain MySQL identifier")
    assert found["source.fetchSize"].startswith("must be at most 100000, got 200000")
    found = mysql_problems(where="a\x01b", connectionProperties={"AllowLoadLocalInfile": "true"})
    assert set(found) == {"source.where", "source.connectionProperties.AllowLoadLocalInfile"}


def test_mysql_redacted_password() -> None:
    found = mysql_problems(credentials={"username": "u", "password": "<redacted>"})
    assert list(found) == ["source.credentials.password"]
    found = mysql_problems(connectionProperties={"password": "<redacted>", "useSSL": True})
    assert list(found) == ["source.connectionProperties.password"]


def test_snake_case_names_are_accepted_too() -> None:
    text = to_yaml(with_source(fetchSize=None, fetch_size=250))
    assert narrow(load_config(text, environ={}).model.source, CassandraSource).fetch_size == 250
