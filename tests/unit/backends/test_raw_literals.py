"""A cell's literal written from its bytes (``literals.raw_literal``) is the text its decoded value gives."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from migrator.backends.cassandra.literals import cell_literal, raw_literal
from migrator.backends.cassandra.ordering import parse_cql_type
from migrator.backends.cassandra.values import decoder_for, driver_type

VALUES: dict[str, list[Any]] = {
    "bigint": [0, -1, 2**63 - 1, -(2**63)], "int": [7, -(2**31)], "smallint": [-32768], "tinyint": [-1, 127],
    "varint": [0, -(10**40), 10**40], "text": ["", "it's", "\u00e9\u2603\"", "a\nb"], "ascii": ["", "o'k"],
    "blob": [b"", b"\x00\xff'"], "double": [0.1, -0.0, float("nan"), float("inf"), -float("inf"), 1e300],
    "float": [1.5, float("nan"), -float("inf"), 3.4e38], "boolean": [True, False],
    "uuid": [uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")], "timeuuid": [uuid.uuid1(node=1, clock_seq=2)],
    "set<text>": [{"a"}], "timestamp": [0],
}
# cells a server could send that no value serializes to: empty where empty means nothing, odd lengths
ODD = {"int": [b"", b"\x01\x02\x03"], "bigint": [b""], "double": [b"", b"\x01"], "float": [b"\x00" * 8],
       "boolean": [b"", b"\x02"], "uuid": [b""]}


def cells(cql_type: str) -> list[bytes | None]:
    encode = driver_type(parse_cql_type(cql_type))
    return [None, *(bytes(encode.to_binary(v, 4)) for v in VALUES[cql_type]), *ODD.get(cql_type, [])]


@pytest.mark.parametrize("cql_type", sorted(VALUES))
def test_a_literal_from_bytes_is_the_literal_of_the_decoded_value(cql_type):
    parsed, decode = parse_cql_type(cql_type), decoder_for(cql_type)
    fast = raw_literal(parsed, decode)
    for raw in cells(cql_type):
        try:
            expected = cell_literal(parsed, raw, decode(raw))
        except Exception as failed:  # a cell the driver cannot decode fails from its bytes too
            with pytest.raises(type(failed)):
                fast(raw)
            continue
        assert fast(raw) == expected, (cql_type, raw)
