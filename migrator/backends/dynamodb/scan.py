"""Reading one parallel-scan segment of a table: its items page by page, or just how many are live.

Every page is at most 1 MB of items read (DynamoDB's page limit), so memory stays at one page
whatever the table size. Each response is accounted on the task's ``Pacer`` before the next request,
and throttling is waited out (``pacing.call_throttled``).

``count_live`` asks for ``Select: COUNT``: the server reads the segment as a scan does (the same read
capacity) but returns counts only. Items DynamoDB's TTL has expired but not deleted yet are filtered
out on the server by the very rule ``items.expired`` applies to an item in hand, so a count and a
comparison agree on what is live.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from migrator.backends.dynamodb.items import TTL_IGNORED_AFTER_S
from migrator.backends.dynamodb.pacing import Pacer, call_throttled


def scan_responses(table_client: Any, table: str, total_segments: int, segment: int, pacer: Pacer,
                   return_consumed: bool, ask: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """The segment's Scan responses in order (``ask``: more keys of the request), paced to the task's read rate."""
    request: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": total_segments, **(ask or {})}
    if return_consumed:
        request["ReturnConsumedCapacity"] = "TOTAL"
    while True:
        response = call_throttled(lambda: table_client.scan(**request))
        pacer.reads(response, response.get("Items", []))
        yield response
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        request["ExclusiveStartKey"] = last


def scan_segment(table_client: Any, table: str, total_segments: int, segment: int, pacer: Pacer,
                 return_consumed: bool, ask: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
    """The segment's items, page by page (empty pages left out)."""
    for response in scan_responses(table_client, table, total_segments, segment, pacer, return_consumed, ask):
        page = response.get("Items", [])
        if page:
            yield page


def count_live(table_client: Any, table: str, total_segments: int, segment: int, pacer: Pacer,
               return_consumed: bool, ttl_attribute: str | None, now: float) -> int:
    """How many items of the segment are live at ``now`` (Scan ``Select: COUNT``, TTL-expired items filtered out)."""
    ask: dict[str, Any] = {"Select": "COUNT"}
    if ttl_attribute is not None:
        # items.expired: a Number of epoch seconds within the last five years (older ones DynamoDB ignores)
        ask |= {"FilterExpression": "NOT (attribute_type(#ttl, :number) AND #ttl BETWEEN :oldest AND :now)",
                "ExpressionAttributeNames": {"#ttl": ttl_attribute},
                "ExpressionAttributeValues": {":number": {"S": "N"}, ":oldest": {"N": f"{now - TTL_IGNORED_AFTER_S:f}"},
                                              ":now": {"N": f"{now:f}"}}}
    return sum(int(response.get("Count", 0))
               for response in scan_responses(table_client, table, total_segments, segment, pacer, return_consumed,
                                              ask))
