"""Our SigV4 signer against botocore's: the same request at the same time gets the same signature."""

from __future__ import annotations

import datetime

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from migrator.backends.dynamodb.sigv4 import Signer

AT = datetime.datetime(2026, 12, 2, 23, 59, 58)
BODY = '{"TableName":"t","Segment":1,"TotalSegments":8,"ExclusiveStartKey":{"id":{"S":"é"}}}'.encode()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "https://dynamodb.eu-west-1.amazonaws.com",
                                 "https://dynamodb.eu-west-1.amazonaws.com:443", "http://[::1]:8043/alternator"])
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_our_signature_is_botocore_s(monkeypatch, url, token, gzipped):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: AT)
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Scan"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    ours = Signer(credentials, "eu-west-1",
                  clock=lambda: AT.replace(tzinfo=datetime.UTC).timestamp()).headers(url, headers, BODY)
    theirs = AWSRequest(method="POST", url=url, data=BODY, headers=dict(headers))
    botocore.auth.SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(theirs)
    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours["X-Amz-Date"] == "20261202T235958Z"
    assert ours.get("X-Amz-Security-Token") == token


def test_the_signing_key_is_kept_for_the_day_and_renewed_the_next():
    now = [AT.replace(tzinfo=datetime.UTC).timestamp()]
    signer = Signer(Credentials("a", "b"), "us-east-1", clock=lambda: now[0])
    signer.headers("http://h:1", {}, b"{}")
    first = signer._key
    signer.headers("http://h:1", {}, b"{}")
    assert signer._key is first
    now[0] += 5  # past midnight
    signer.headers("http://h:1", {}, b"{}")
    assert signer._key is not None and first is not None and signer._key[0][1] == "20261203" != first[0][1]
