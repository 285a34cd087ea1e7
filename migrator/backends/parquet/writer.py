"""Executor side of writing a CQL table as Parquet: one token range into one file.

The range is scanned as a copy scans it (raw cells, pages of ``fetchSize`` rows), each page turned
into Arrow columns by ``codec`` and buffered up to a row group, so memory holds one row group
whatever the range's size. The file is written under a hidden temporary name and put in place
whole only once complete, so a reader (or a resumed run) never sees a partial file; a range with no
rows writes no file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.backends.base import CopyResult, WorkItem
from migrator.backends.cassandra.connection import cached_session, consistency, prepared
from migrator.backends.cassandra.copier import THROTTLE_ENV, Throttle
from migrator.backends.cassandra.plan import CopyPlan
from migrator.backends.cassandra.scan import scan_pages
from migrator.backends.parquet import layout
from migrator.backends.parquet.codec import arrow_schema, codec_for
from migrator.backends.parquet.store import Store
from migrator.planning.tokens import Work

SUCCESS = "_SUCCESS"
ROW_GROUP_ROWS = 65_536
ROW_GROUP_BYTES = 64 << 20


@dataclass(frozen=True)
class ExportPlan:
    """Everything an executor needs to write one range's file, as plain picklable data."""

    copy: CopyPlan  # the scan: its selectors and where each column sits in a row
    columns: tuple[tuple[str, int, str], ...]  # (Parquet column, index in a scanned row, CQL type)
    user_types: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    store: Store
    run: str
    compression: str
    table: str  # the ``migrator.table`` metadata


def file_name(split: int, run: str) -> str:
    """The file of a range: the same name whenever the range is written again."""
    return f"part-{split:05d}-{run}.parquet"


def export_item(plan: ExportPlan, item: WorkItem) -> CopyResult:
    """The copy task of the backend protocol: write one range's rows into its file; returns the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    work: Work = item.spec
    user_types = dict(plan.user_types)
    codecs = [(index, codec_for(cql_type, user_types)) for _, index, cql_type in plan.columns]
    schema = arrow_schema([(name, cql_type) for name, _, cql_type in plan.columns], user_types)
    schema = schema.with_metadata({layout.TABLE_KEY: plan.table})
    session = cached_session(plan.copy.source, raw=True)
    select = prepared(session, plan.copy.select)
    select.consistency_level = consistency(plan.copy.source_consistency)
    compression = "none" if plan.compression in ("none", "uncompressed") else plan.compression
    throttle = Throttle(float(os.environ.get(THROTTLE_ENV) or 0))  # as a table copy's (tests slow runs down)
    with _temporary(plan.store) as path:
        rows = 0
        with pq.ParquetWriter(path, schema, compression=compression) as writer:
            group: list[Any] = []
            grouped = size = 0
            for piece in work.pieces:
                for page in scan_pages(session, select, (piece.start, piece.end), plan.copy.fetch_size,
                                       plan.copy.source):
                    if not page:
                        continue
                    throttle.account(len(page))
                    arrays = [codec.to_arrow([row[index] for row in page]) for index, codec in codecs]
                    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
                    group.append(batch)
                    grouped += batch.num_rows
                    size += batch.nbytes
                    if grouped >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
                        writer.write_table(pa.Table.from_batches(group, schema), row_group_size=grouped)
                        rows += grouped
                        group, grouped, size = [], 0, 0
            if group:
                writer.write_table(pa.Table.from_batches(group, schema), row_group_size=grouped)
                rows += grouped
            writer.add_key_value_metadata({layout.EXPORTED_AT_KEY: repr(time.time())})
        if rows:
            plan.store.put(Path(path), file_name(item.index, plan.run))
    return CopyResult(rows)


@contextlib.contextmanager
def _temporary(store: Store) -> Any:
    """A hidden temporary file path, beside the final place for a local folder; removed if left over."""
    handle, path = tempfile.mkstemp(prefix=".part-", suffix=".parquet.tmp", dir=store.scratch())
    os.close(handle)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
