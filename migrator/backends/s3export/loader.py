"""Executor side of loading an S3 export: one data file, streamed from S3, written into the target table.

The file is read as it downloads (``file_items``; a comparison with a table reads it the same way):
gzip is decompressed and split into lines on the way, each line's item (DynamoDB's JSON, exactly the
wire form the target's BatchWriteItem takes: numbers as decimal strings, binaries as base64 text)
renamed and queued on the DynamoDB backend's batch writer, paced to the task's share of the target's
write throughput as a table copy is. Memory is one line plus the batches in flight, whatever the
file's size.

The object is fetched with ``IfMatch`` on the ETag the manifest lists, so a file replaced since the
export was planned is refused instead of loaded. The file must hold exactly the items its manifest
line counts: a truncated or corrupt file, a line that is not an item, or a count that differs stops
the task with the file and line named, and the file is not recorded as finished.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from migrator.backends.base import CopyResult, WorkItem
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec, per_spec, service_client
from migrator.backends.dynamodb.copier import BatchWriter
from migrator.backends.dynamodb.pacing import Pacer
from migrator.backends.dynamodb.wire import wire_client
from migrator.backends.s3export.manifest import DataFile
from migrator.errors import RuntimeFailure

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class S3Spec:
    """Where the export's bucket is: the client spec and whether to address it path-style."""

    client: ClientSpec
    path_style: bool = False


def _s3(spec: S3Spec) -> Any:
    return service_client(spec.client, "s3", s3={"addressing_style": "path" if spec.path_style else "auto"})


s3_client = per_spec(_s3)  # the process's S3 client for a spec


@dataclass(frozen=True)
class LoadPlan:
    """Everything an executor needs to load a data file, as plain picklable data."""

    s3: S3Spec
    bucket: str
    target: ClientSpec
    target_table: str
    renames: tuple[tuple[str, str], ...] = ()
    batch_items: int = 25
    write_units_per_s: float | None = None
    return_consumed: bool = True


def load_item(plan: LoadPlan, item: WorkItem) -> CopyResult:
    """The copy task of the backend protocol: load one data file; returns the items written."""
    return load_file(plan, item.spec)


def load_file(plan: LoadPlan, file: DataFile) -> CopyResult:
    """Write every item of ``file`` into the target; returns once every write was acknowledged."""
    renames = dict(plan.renames)
    writer = BatchWriter(wire_client(plan.target), plan.target_table, plan.batch_items,
                         Pacer(plan.write_units_per_s), plan.return_consumed)
    count = 0
    try:
        for item in file_items(s3_client(plan.s3), plan.bucket, file):
            writer.put(ditems.renamed(item, renames))
            count += 1
        writer.finish()
    finally:
        writer.close()
    return CopyResult(count)


def file_items(s3: Any, bucket: str, file: DataFile) -> Iterator[dict[str, Any]]:
    """The items of one data file, in the wire form, as it downloads (see the module docstring).

    Once the file is read through, refuses it when it does not hold exactly the items its manifest
    line counts; a damaged or replaced file is refused as soon as that shows, naming it (and the line).
    """
    uri = f"s3://{bucket}/{file.key}"
    count = 0
    for number, line in enumerate(_lines(s3, bucket, file, uri), start=1):
        if line.strip():
            count += 1
            yield _item(line, uri, number)
    if file.items is not None and count != file.items:
        raise RuntimeFailure(f"{uri} holds {count:,} items, but manifest-files.json lists {file.items:,}",
                             hint="the export is damaged or was changed: export the table again")


def _lines(s3: Any, bucket: str, file: DataFile, uri: str) -> Any:
    """The file's decompressed lines, as it downloads."""
    import botocore.exceptions

    request = {"Bucket": bucket, "Key": file.key}
    if file.etag:
        request["IfMatch"] = file.etag
    try:
        body = s3.get_object(**request)["Body"]
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404"):
            raise RuntimeFailure(f"{uri}: no such object, though manifest-files.json lists it",
                                 hint="the export is incomplete: export the table again") from None
        if code in ("PreconditionFailed", "412"):
            raise RuntimeFailure(f"{uri} changed since the export was written (its ETag is not {file.etag})",
                                 hint="load an export whose files are as its manifest lists them") from None
        raise
    try:
        with gzip.GzipFile(fileobj=body, mode="rb") as stream:
            yield from stream
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise RuntimeFailure(f"{uri}: not a complete gzip file ({exc})",
                             hint="the data file is damaged or truncated: export the table again") from None


def _item(line: bytes, uri: str, number: int) -> dict[str, Any]:
    """The item of one line, ``{"Item": {...}}``, in the wire form."""
    try:
        item = json.loads(line)["Item"]
    except (ValueError, KeyError, TypeError) as exc:
        reason = "no Item" if isinstance(exc, KeyError | TypeError) else f"not JSON: {exc}"
        raise RuntimeFailure(f"{uri} line {number}: not an exported item ({reason})",
                             hint="the data file is damaged: export the table again") from None
    if not isinstance(item, dict) or not all(isinstance(v, dict) and len(v) == 1 for v in item.values()):
        raise RuntimeFailure(f"{uri} line {number}: the Item is not in DynamoDB's JSON",
                             hint="only DYNAMODB_JSON exports can be loaded")
    return item
