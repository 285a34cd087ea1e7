"""Executor side of importing Parquet: one file into the target table.

The file is read as it was listed (a replaced file is refused), batch by batch within its row groups,
so memory holds one row group whatever the file's size. Each batch's columns become raw CQL cells of
the target's types (``codec``), laid out as rows the CQL backend's writers take, so an import writes
exactly as a table copy does: nulls unset, batches by replica, the same write window, and in
preserve mode each cell with its write time and TTL.

TTLs are remaining seconds when the file was written (``migrator.exportedAt``); they are shortened
by the time since, at least to 1 second, so a cell expires when it would have at the source. Files
without that key (upstream's) keep their TTLs as they are.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from migrator.backends.base import CopyResult, WorkItem
from migrator.backends.cassandra.connection import cached_session
from migrator.backends.cassandra.copier import THROTTLE_ENV, Throttle, make_writer
from migrator.backends.cassandra.plan import CopyPlan
from migrator.backends.parquet import layout
from migrator.backends.parquet.codec import codec_for
from migrator.backends.parquet.store import ParquetFile, Store
from migrator.errors import MigratorError, RuntimeFailure

BATCH_ROWS = 5_000
NULL_KEYS = "rowsWithNullKeysDropped"


@dataclass(frozen=True)
class FileSpec:
    """One file to import and the rows its footer counts."""

    file: ParquetFile
    rows: int


@dataclass(frozen=True)
class LoadPlan:
    """Everything an executor needs to import a file, as plain picklable data."""

    copy: CopyPlan  # the writers' plan: row layout and target statements
    store: Store
    columns: tuple[tuple[str, str], ...]  # (Parquet column, CQL type), in row-layout order
    user_types: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    drop_null_keys: bool = True  # ``dropNullPrimaryKeys``: drop and count such rows; False: refuse the file
    batch_rows: int = BATCH_ROWS


class _NoScan:
    """Stands for the scan statement a table copy would pass: rows here are already in the target's types."""

    result_metadata: tuple[Any, ...] = ()


def load_item(plan: LoadPlan, item: WorkItem) -> CopyResult:
    """The copy task of the backend protocol: import one file; returns its rows once all writes are acknowledged."""
    spec: FileSpec = item.spec
    with plan.store.local_copy(spec.file) as path:
        rows, dropped = _load(plan, spec.file, path)
    if rows + dropped != spec.rows:
        raise RuntimeFailure(f"{spec.file.uri} held {rows + dropped:,} rows, its footer {spec.rows:,}",
                             hint="the file is damaged: replace it")
    return CopyResult(rows, {NULL_KEYS: dropped} if dropped else {})


def _load(plan: LoadPlan, file: ParquetFile, path: str) -> tuple[int, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    user_types = dict(plan.user_types)
    names = [name for name, _ in plan.columns]
    codecs = [codec_for(cql_type, user_types) for _, cql_type in plan.columns]
    ttls = [i for i, name in enumerate(names) if (layout.meta_of(name) or ("", ""))[1] == layout.TTL]
    writer = make_writer(plan.copy, cached_session(plan.copy.target, raw=True), _NoScan())
    keys = _key_positions(plan.copy)
    throttle = Throttle(float(os.environ.get(THROTTLE_ENV) or 0))  # as a table copy's (tests slow runs down)
    dropped = 0
    try:
        parquet = pq.ParquetFile(path)
        elapsed = _elapsed(parquet.metadata.metadata or {})  # the file's key-value metadata
        for batch in parquet.iter_batches(batch_size=plan.batch_rows, columns=names, use_threads=False):
            columns = [batch.column(i) for i in range(len(names))]
            for i in ttls:
                columns[i] = shorten(columns[i], elapsed)
            cells = [_convert(codec, column, file, name) for codec, column, name in zip(codecs, columns, names,
                                                                                       strict=True)]
            rows = list(zip(*cells, strict=True))
            kept = [row for row in rows if all(row[i] is not None for i in keys)]
            if len(kept) != len(rows):
                if not plan.drop_null_keys:
                    raise RuntimeFailure(f"{file.uri}: a row has a null primary key column",
                                         hint="set target.dropNullPrimaryKeys: true to drop such rows (counted)")
                dropped += len(rows) - len(kept)
            writer.write_page(kept)
            throttle.account(len(rows))
        writer.finish()
    except (pa.ArrowException, OSError) as exc:
        raise RuntimeFailure(f"{file.uri}: not a readable Parquet file ({exc})",
                             hint="the file is truncated or damaged: replace it") from None
    return writer.rows_read, dropped


def _key_positions(copy: CopyPlan) -> list[int]:
    """Where the key cells sit in a row that must not be null.

    The partition key always; the clustering key unless the table has static columns (a partition with
    only static cells comes with null clustering columns, and our files hold such rows).
    """
    statics = any(cell.static for cell in copy.cells)
    return [i for i, _ in copy.partition_key] + ([] if statics else [i for i, _ in copy.clustering])


def _convert(codec: Any, column: Any, file: ParquetFile, name: str) -> list[bytes | None]:
    try:
        cells: list[bytes | None] = codec.from_arrow(column)
    except MigratorError:
        raise
    except (ValueError, TypeError) as exc:
        raise RuntimeFailure(f"{file.uri}, column {name}: {exc}", hint="fix the column's type in the files or "
                             "the target table") from None
    return cells


def _elapsed(metadata: dict[bytes, bytes]) -> int:
    """Whole seconds since the file was written (0 when it does not say)."""
    written = metadata.get(layout.EXPORTED_AT_KEY.encode())
    if not written:
        return 0
    try:
        return max(0, int(time.time() - float(written)))
    except ValueError:
        return 0


def shorten(ttls: Any, elapsed: int) -> Any:
    """TTL seconds (a column of ints, or of lists of ints) less ``elapsed``, at least 1; nulls stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not elapsed:
        return ttls
    if isinstance(ttls, pa.ChunkedArray):
        ttls = ttls.combine_chunks()
    if pa.types.is_list(ttls.type) or pa.types.is_large_list(ttls.type):
        values = shorten(ttls.values, elapsed)
        return type(ttls).from_arrays(ttls.offsets, values, mask=ttls.is_null())
    one = pa.scalar(1, ttls.type)
    return pc.max_element_wise(pc.subtract(ttls, pa.scalar(elapsed, ttls.type)), one, skip_nulls=False)
