"""Executor side of validating an S3 export against a DynamoDB or Alternator table, either way round.

An export cannot be read by key, so each work item streams its data files (``loader.file_items``:
``IfMatch`` on the manifest's ETag, item counts checked, a damaged file refused by name) a page of
``PROBE_KEYS`` items at a time and looks the same keys up in the table, comparing item by item with
the comparison a table validation makes (``dynamodb.compare.ItemComparer``: renames, tolerances,
``ignoreColumns``, examples, differences files). An item the table lacks is **missing** when the
export is the source, **extra** when it is the target; a different one is **differing**.

The items only the table holds cannot be found that way. Instead each work item counts the table's
live items in one parallel-scan segment (``scan.count_live``, Scan ``Select: COUNT``): item ``i``
counts segment ``i`` of ``total_segments``, the number of work items, so together they count the
whole table exactly once. Once every item is done, the run's ``finish_report`` works the other kind
out from the totals (``report.model.count_from_totals``): the table's items minus the export's items
found in it. Those rows are counted, not listed.

Item ``i`` reads the data files ``i``, ``i + total``, ``i + 2 * total``, ...: one file per item when
the export is the source (one work item per file), and, when the export is the target, the files of
the segments the export was written from (one per segment), however many there are now.

Items whose TTL has expired count on neither side, as in a table validation: the export's by the
TTL attribute the table has (the export does not record one), the table's in the count and when
looked up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from migrator.backends.base import CompareTask, WorkItem
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.compare import PROBE_KEYS, ComparePlan, ItemComparer
from migrator.backends.dynamodb.scan import count_live
from migrator.backends.s3export.loader import S3Spec, file_items, s3_client
from migrator.backends.s3export.manifest import DataFile, Export
from migrator.config import ValidationSettings
from migrator.differences import DifferenceSink, DifferenceWriter
from migrator.errors import RuntimeFailure
from migrator.report.model import RangeResult

SOURCE, TARGET = "source", "target"  # which side of the comparison the export is


@dataclass(frozen=True)
class ExportComparePlan:
    """Everything an executor needs to compare its data files with the table, as plain picklable data."""

    s3: S3Spec
    bucket: str
    files: tuple[DataFile, ...]  # every data file of the export
    table: ComparePlan  # the comparison; its ``total_segments`` is the number of work items
    export_is: str  # SOURCE or TARGET


def export_compare_task(settings: ValidationSettings, sink: DifferenceSink | None, export: Export, s3: S3Spec,
                        export_is: str, **table: Any) -> CompareTask:
    """The compare task of an export and a table; ``table``: the ``ComparePlan`` fields naming both sides."""
    plan = ComparePlan(tolerance=settings.floating_point_tolerance, ignore=tuple(settings.ignore_columns),
                       failures_to_fetch=settings.failures_to_fetch, **table)
    return functools.partial(compare_item, ExportComparePlan(s3, export.bucket, export.files, plan, export_is), sink)


def compare_item(plan: ExportComparePlan, sink: DifferenceSink | None, item: WorkItem) -> RangeResult:
    """The compare task of the backend protocol: the item's data files, and its segment of the table counted."""
    with DifferenceWriter.open(sink, item.index) as differences:
        result = compare_files(plan, item.index, differences)
    if differences is not None:
        result.differences_file = str(differences.path)
    return result


def compare_files(plan: ExportComparePlan, index: int, differences: DifferenceWriter | None = None) -> RangeResult:
    """Compare item ``index``'s data files with the table and count the table's segment ``index``."""
    table = plan.table
    comparer = ItemComparer(table, index, differences)
    if plan.export_is == SOURCE:
        names, ttl, check = table.key_names, table.ttl_attribute, comparer.check_source_items
    else:
        names, ttl, check = table.target_key_names, comparer.target_ttl, comparer.check_target_items
    exported = 0
    try:
        s3 = s3_client(plan.s3)
        for file in plan.files[index :: table.total_segments]:
            for page in _pages(file_items(s3, plan.bucket, file), names, f"s3://{plan.bucket}/{file.key}"):
                live = [i for i in page if not ditems.expired(i, ttl, comparer.now)]
                exported += len(live)
                check(live)
        if plan.export_is == SOURCE:
            counted = count_live(comparer.target, table.target_table, table.total_segments, index, comparer.pacer,
                                 table.return_consumed, comparer.target_ttl, comparer.now)
        else:
            counted = count_live(comparer.source, table.source_table, table.total_segments, index, comparer.pacer,
                                 table.return_consumed, table.ttl_attribute, comparer.now)
    finally:
        result = comparer.finish()
    result.source_rows, result.target_rows = (exported, counted) if plan.export_is == SOURCE else (counted, exported)
    return result


def _pages(items: Iterator[dict[str, Any]], key_names: tuple[str, ...], uri: str) -> Iterator[list[dict[str, Any]]]:
    """``items`` in pages of ``PROBE_KEYS`` (one probe each); an item without the table's key is refused."""
    page: list[dict[str, Any]] = []
    for item in items:
        lacking = [name for name in key_names if name not in item]
        if lacking:
            raise RuntimeFailure(f"{uri}: an item without the key attribute(s) {', '.join(lacking)}",
                                 hint="the export is not of a table with that key: check the key schema "
                                      "(source.tableDescription, or the table's) and renames")
        page.append(item)
        if len(page) == PROBE_KEYS:
            yield page
            page = []
    if page:
        yield page
