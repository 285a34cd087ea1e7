"""The client settings sent for DynamoDB and Alternator, and secrets kept out of sight."""

from __future__ import annotations

import gzip
import pickle
from typing import Any

from botocore.awsrequest import AWSRequest
from botocore.stub import Stubber

from migrator.backends.dynamodb.client import (
    ClientSpec,
    gzip_body,
    new_client,
    spec_from_settings,
    strip_consumed_capacity,
)
from tests.unit.config.helpers import load_tree

ENDPOINT = {"host": "http://127.0.0.1", "port": 8000}


def block(kind: str, **extra: Any) -> Any:
    tree = {"source": {"type": kind, "table": "t", "endpoint": ENDPOINT, **extra},
            "target": {"type": "alternator", "table": "u", "endpoint": ENDPOINT, "streamChanges": False},
            "savepoints": {"path": "/tmp/sp", "intervalSeconds": 60}}
    return load_tree(tree).model.source


def test_an_alternator_spec_strips_consumed_capacity_and_applies_its_connection_settings():
    spec = spec_from_settings("source", block("alternator", maxConnections=7, connectionTimeoutMs=2500,
                                              compression=True))
    assert (spec.alternator, spec.remove_consumed_capacity, spec.max_connections, spec.connect_timeout_s,
            spec.compression) == (True, True, 7, 2.5, True)
    assert spec.region == "us-east-1" and spec.endpoint == "http://127.0.0.1:8000"


def test_a_dynamodb_spec_keeps_consumed_capacity():
    spec = spec_from_settings("source", block("dynamodb", region="eu-west-1"))
    assert (spec.alternator, spec.remove_consumed_capacity, spec.region) == (False, False, "eu-west-1")


def test_the_strip_hook_removes_return_consumed_capacity_from_what_is_sent():
    spec = ClientSpec("target", "http://127.0.0.1:8000", "us-east-1", alternator=True, remove_consumed_capacity=True,
                      access_key="a", secret_key="b")
    client = new_client(spec)
    with Stubber(client) as stub:
        stub.add_response("scan", {"Items": []}, {"TableName": "t"})  # the stub checks the params as sent
        client.scan(TableName="t", ReturnConsumedCapacity="TOTAL")
    params = {"TableName": "t", "ReturnConsumedCapacity": "INDEXES"}
    strip_consumed_capacity(params)
    assert params == {"TableName": "t"}


def test_compression_gzips_the_body_before_signing():
    request = AWSRequest(method="POST", url="http://x", data=b'{"TableName": "t"}', headers={})
    gzip_body(request)
    assert request.headers["Content-Encoding"] == "gzip" and gzip.decompress(request.body) == b'{"TableName": "t"}'


def test_secrets_stay_out_of_the_spec_s_repr_but_travel_to_executors():
    spec = ClientSpec("source", None, "us-east-1", access_key="AKIAEXAMPLE", secret_key="s3cr3t", session_token="tok")
    assert "s3cr3t" not in repr(spec) and "AKIAEXAMPLE" not in repr(spec) and "tok" not in repr(spec)
    assert pickle.loads(pickle.dumps(spec)).secret_key == "s3cr3t"
