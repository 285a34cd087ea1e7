"""The client settings sent for DynamoDB and Alternator, and secrets kept out of sight."""

from __future__ import annotations

import gzip
import pickle
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest
from botocore.stub import Stubber

from migrator.backends.dynamodb.client import (
    AlternatorNodes,
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


def nodes(found: Any, **spec: Any) -> tuple[AlternatorNodes, list[str], list[float]]:
    asked: list[str] = []
    now = [0.0]

    def fetch(url: str) -> Any:
        asked.append(url)
        if isinstance(found, Exception):
            raise found
        return found

    balancer = AlternatorNodes(ClientSpec("target", "http://seed:8000", "us-east-1", alternator=True, **spec),
                               fetch=fetch, clock=lambda: now[0])
    return balancer, asked, now


def request_to(balancer: AlternatorNodes) -> str:
    request = AWSRequest(method="POST", url="http://seed:8000/", data=b"{}", headers={})
    balancer.route(request)
    return request.url


def test_alternator_requests_go_round_robin_over_the_datacenter_s_live_nodes():
    balancer, asked, _ = nodes(["10.0.0.2", "10.0.0.1", "10.0.0.3"], datacenter="dc1", rack="r1")
    assert [request_to(balancer) for _ in range(4)] == [
        "http://10.0.0.2:8000/", "http://10.0.0.3:8000/", "http://10.0.0.1:8000/", "http://10.0.0.2:8000/"]
    assert asked == ["http://seed:8000/localnodes?dc=dc1&rack=r1"]  # read once until the refresh is due


def test_the_node_list_is_read_again_when_the_refresh_is_due():
    balancer, asked, now = nodes(["10.0.0.1"], nodes_refresh_s=2.0)
    request_to(balancer)
    now[0] = 1.0
    request_to(balancer)
    now[0] = 2.5
    request_to(balancer)
    assert asked == ["http://seed:8000/localnodes"] * 2


def test_without_localnodes_requests_stay_on_the_endpoint_given():
    balancer, _, _ = nodes(OSError("404"))
    assert request_to(balancer) == "http://seed:8000/"
    balancer, _, _ = nodes({"not": "a list"})
    assert request_to(balancer) == "http://seed:8000/"


def test_ipv6_nodes_are_bracketed():
    balancer, _, _ = nodes(["::1"])
    assert request_to(balancer) == "http://[::1]:8000/"


def test_an_alternator_spec_carries_its_load_balancing_settings():
    spec = spec_from_settings("source", block("alternator", datacenter="dc2", rack="r3",
                                              activeRefreshIntervalMs=500))
    assert (spec.datacenter, spec.rack, spec.nodes_refresh_s) == ("dc2", "r3", 0.5)


def test_keys_of_the_other_side_load_with_a_one_line_warning_each():
    from migrator.backends.dynamodb.prepare import _warnings

    tree = {"source": {"type": "dynamodb", "table": "t", "region": "us-east-1", "billingMode": "PROVISIONED"},
            "target": {"type": "alternator", "table": "u", "endpoint": ENDPOINT, "streamChanges": False,
                       "maxMapTasks": 4, "scanSegments": 8, "optimizeHeaders": True},
            "savepoints": {"path": "/tmp/sp", "intervalSeconds": 60}}
    model = load_tree(tree).model
    assert _warnings(model.source, model.target) == [
        "source.billingMode has no effect on a source (it is a target setting); remove it",
        "target.scanSegments has no effect on a target (it is a source setting); remove it",
        "target.maxMapTasks has no effect on a target (it is a source setting); remove it",
        "target.optimizeHeaders is accepted for compatibility but has no effect in this version (no such setting "
        "in boto3's connection pool; the node list is refreshed as requests go)",
    ]


def test_a_misspelt_key_is_still_refused_with_a_suggestion():
    from tests.unit.config.helpers import config_error

    tree = {"source": {"type": "dynamodb", "table": "t", "region": "us-east-1", "scanSegmnts": 4},
            "target": {"type": "dynamodb", "table": "u", "region": "us-east-1", "streamChanges": False},
            "savepoints": {"path": "/tmp/sp", "intervalSeconds": 60}}
    error = config_error(tree)
    assert "scanSegments" in error.render()


def test_a_named_profile_supplies_the_keys_on_every_machine_that_has_it(tmp_path, monkeypatch):
    credentials = tmp_path / "credentials"
    credentials.write_text("[migration]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = from-profile\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    spec = spec_from_settings("source", block("dynamodb", credentials={"profile": "migration"}))
    assert (spec.profile, spec.access_key, spec.secret_key) == ("migration", None, None)
    assert new_client(spec)._request_signer._credentials.access_key == "AKIAPROFILE"


def test_a_missing_profile_is_named_with_the_fix(tmp_path, monkeypatch):
    from migrator.errors import RuntimeFailure

    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    spec = spec_from_settings("source", block("dynamodb", credentials={"profile": "nope"}))
    with pytest.raises(RuntimeFailure, match="profile 'nope' is not in this machine's AWS config files"):
        new_client(spec)


def test_keys_and_a_profile_together_are_refused():
    from tests.unit.config.helpers import config_error

    tree = {"source": {"type": "dynamodb", "table": "t", "region": "us-east-1",
                       "credentials": {"profile": "p", "accessKey": "a", "secretKey": "b"}},
            "target": {"type": "dynamodb", "table": "u", "region": "us-east-1", "streamChanges": False},
            "savepoints": {"path": "/tmp/sp", "intervalSeconds": 60}}
    assert "either accessKey/secretKey or a profile" in config_error(tree).render()
