"""What the wire client sends and how it treats answers: signed JSON requests, retries, errors, Alternator.

``FakeSession`` stands in for botocore's HTTP session: it records each prepared request and answers
from a script. That a real server accepts these requests is for the tests in ``tests/dynamodb``.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError

from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import AlternatorNodes, ClientSpec
from migrator.backends.dynamodb.pacing import throttled
from migrator.backends.dynamodb.transport import Reply
from migrator.backends.dynamodb.wire import Unanswered, WireClient
from migrator.retry import RetryPolicy

SPEC = ClientSpec("source", "http://127.0.0.1:8000", "us-east-1")


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    crc: int | None = None  # a wrong x-amz-crc32 to send; the right one by default

    def reply(self) -> Reply:
        content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        crc = self.crc if self.crc is not None else zlib.crc32(content)
        return Reply(self.status, {"x-amz-crc32": str(crc)}, content)


@dataclass
class Sent:
    url: str
    headers: dict[str, str]
    body: bytes


class FakeSession:
    def __init__(self, *answers: Answer | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[Sent] = []

    def send(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        self.sent.append(Sent(url, headers, body))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer.reply()


def wire(*answers: Answer | Exception, spec: ClientSpec = SPEC) -> tuple[WireClient, FakeSession, list[float]]:
    session = FakeSession(*answers)
    slept: list[float] = []
    made = WireClient(spec, session=session, credentials=Credentials("AKIDEXAMPLE", "secret"), sleep=slept.append,
                      clock=lambda: sum(slept))
    return made, session, slept


def test_a_scan_is_one_signed_json_post_and_its_items_come_back_as_sent():
    items = [{"id": {"S": "a"}, "n": {"N": "1.50E+3"}, "b": {"B": "AAEC/w=="}, "bs": {"BS": ["AQ==", "Ag=="]}}]
    client, session, _ = wire(Answer(body={"Items": items, "Count": 1, "ConsumedCapacity": {"CapacityUnits": 0.5}}))
    response = client.scan(TableName="t", Segment=3, TotalSegments=8, ReturnConsumedCapacity="TOTAL")
    assert response["Items"] == items  # numbers and binaries untouched: the text the server sent
    [sent] = session.sent
    assert sent.url == "http://127.0.0.1:8000" and sent.headers["Host"] == "127.0.0.1:8000"
    assert sent.headers["X-Amz-Target"] == "DynamoDB_20120810.Scan"
    assert sent.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert sent.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/dynamodb/aws4_request" in sent.headers["Authorization"]
    assert json.loads(sent.body) == {"TableName": "t", "Segment": 3, "TotalSegments": 8,
                                     "ReturnConsumedCapacity": "TOTAL"}


def test_batch_writes_and_gets_name_their_operation():
    client, session, _ = wire(Answer(body={"UnprocessedItems": {}}), Answer(body={"Responses": {"t": []}}))
    client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"id": {"S": "a"}}}}]})
    client.batch_get_item(RequestItems={"t": {"Keys": [{"id": {"S": "a"}}]}})
    assert [s.headers["X-Amz-Target"] for s in session.sent] == ["DynamoDB_20120810.BatchWriteItem",
                                                                "DynamoDB_20120810.BatchGetItem"]


def test_throttling_is_a_client_error_that_pacing_recognises_and_is_not_retried_here():
    client, session, slept = wire(Answer(400, {"__type": "com.amazonaws.dynamodb.v20120810#"
                                                          "ProvisionedThroughputExceededException",
                                               "message": "slow down"}))
    with pytest.raises(ClientError) as raised:
        client.scan(TableName="t")
    assert raised.value.response["Error"] == {"Code": "ProvisionedThroughputExceededException",
                                              "Message": "slow down"}
    assert throttled(raised.value) and len(session.sent) == 1 and slept == []


def test_a_server_error_is_retried_then_succeeds():
    client, session, slept = wire(Answer(500, {"__type": "InternalServerError"}), Answer(503, b"<html>busy</html>"),
                                  Answer(body={"Items": []}))
    assert client.scan(TableName="t") == {"Items": []}
    assert len(session.sent) == 3 and len(slept) == 2


BRIEF = replace(SPEC, retry=RetryPolicy(outage_s=2.0))


def _gives_up(client: WireClient, session: FakeSession, slept: list[float]) -> Unanswered:
    """The request fails after retrying for the outage tolerance (2 s on the fake clock), never longer."""
    with pytest.raises(Unanswered) as raised:
        client.scan(TableName="t")
    assert 0.7 < sum(slept) <= 2.0 and len(session.sent) == len(slept) + 1 >= 5  # pauses 0.05-0.1, 0.1-0.2, ...
    assert raised.value.message.startswith(f"Scan to the source endpoint http://127.0.0.1:8000 failed after "
                                           f"{len(session.sent)} tries over ")
    return raised.value


def test_server_errors_are_retried_for_the_outage_tolerance_then_the_endpoint_is_named():
    client, session, slept = wire(*[Answer(500, {"__type": "InternalServerError", "message": "boom"})] * 100,
                                  spec=BRIEF)
    assert "InternalServerError" in _gives_up(client, session, slept).message


def test_an_unreachable_endpoint_is_retried_then_named():
    down = EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")
    client, session, slept = wire(*[down] * 100, spec=BRIEF)
    assert isinstance(_gives_up(client, session, slept).__cause__, EndpointConnectionError)


def test_a_body_damaged_on_the_way_is_read_again():
    client, _, _ = wire(Answer(body={"Items": []}, crc=1), Answer(body={"Items": [{"id": {"S": "a"}}]}))
    assert client.scan(TableName="t")["Items"] == [{"id": {"S": "a"}}]
    client, session, slept = wire(*[Answer(body={"Items": []}, crc=1)] * 100, spec=BRIEF)
    assert "CRC32" in _gives_up(client, session, slept).message


def test_other_client_errors_carry_the_server_s_code_and_message():
    client, _, _ = wire(Answer(400, {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                                     "message": "Requested resource not found"}))
    with pytest.raises(ClientError, match=r"ResourceNotFoundException.*Requested resource not found"):
        client.batch_get_item(RequestItems={"t": {"Keys": [{"id": {"S": "a"}}]}})


def test_alternator_compression_gzips_the_signed_body():
    spec = ClientSpec("target", "http://127.0.0.1:8000", "us-east-1", alternator=True, compression=True)
    client, session, _ = wire(Answer(body={"UnprocessedItems": {}}), spec=spec)
    client.batch_write_item(RequestItems={"t": []})
    [sent] = session.sent
    assert sent.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(sent.body)) == {"RequestItems": {"t": []}}


def test_alternator_requests_go_round_robin_to_the_live_nodes():
    spec = ClientSpec("target", "http://10.0.0.1:8000", "us-east-1", alternator=True)
    client, session, _ = wire(*[Answer(body={"Items": []})] * 4, spec=spec)
    client._nodes = AlternatorNodes(spec, fetch=lambda url: ["10.0.0.2", "10.0.0.3"])
    for _ in range(4):
        client.scan(TableName="t")
    assert [s.url for s in session.sent] == ["http://10.0.0.3:8000", "http://10.0.0.2:8000"] * 2


def test_a_dynamodb_client_sends_to_its_endpoint_without_routing():
    client, _, _ = wire()
    assert client._nodes is None and client.url == "http://127.0.0.1:8000" and client.region == "us-east-1"


def test_binary_sizes_count_bytes_whether_base64_text_or_bytes():
    for raw in (b"", b"\x00", b"\x00\x01", b"\x00\x01\x02", bytes(range(256))):
        text = base64.b64encode(raw).decode()
        assert ditems.value_size({"B": text}) == ditems.value_size({"B": raw}) == len(raw)
    assert ditems.value_size({"BS": [base64.b64encode(b"abcd").decode(), "AQ=="]}) == 5
