"""Writing a DynamoDB table as an S3 export (DYNAMODB_JSON): one data file per scan segment, manifests last.

Each executor task scans one segment of the source table and writes its items, renamed and with
TTL-expired items left out as a copy does, as gzip JSON lines ``{"Item": {...}}`` into a local
temporary file (memory stays at one scan page), then puts the complete file at
``data/<segment>.json.gz`` with its item count. Only then does the task report the segment finished,
so a savepoint's ``skipSegments`` always names complete files, and a resumed run writes the others.

Once every segment is done the driver writes ``manifest-files.json`` (one line per data file: item
count, ETag, key) and then ``manifest-summary.json``, the file a reader starts from. An export
interrupted before that has no summary, so it never looks complete; its files are the input of the
resumed run. A folder that already holds a summary (a complete export), or data files without a
savepoint to resume, is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.backends.base import CopyResult, WorkItem
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.copier import EXPIRED
from migrator.backends.dynamodb.pacing import Pacer
from migrator.backends.dynamodb.scan import scan_segment
from migrator.backends.dynamodb.wire import wire_client
from migrator.backends.s3export.folder import Folder
from migrator.errors import RuntimeFailure

DATA = "data/"
SUMMARY = "manifest-summary.json"
FILES = "manifest-files.json"
VERSION = "2020-06-30"

_line = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


def data_name(segment: int) -> str:
    """The data file of a segment, e.g. ``data/00003.json.gz``."""
    return f"{DATA}{segment:05d}.json.gz"


@dataclass(frozen=True)
class ExportPlan:
    """Everything an executor needs to export one segment, as plain picklable data."""

    folder: Folder
    source: ClientSpec
    source_table: str
    total_segments: int
    renames: tuple[tuple[str, str], ...] = ()
    ttl_attribute: str | None = None
    read_units_per_s: float | None = None
    return_consumed: bool = True


def export_item(plan: ExportPlan, item: WorkItem) -> CopyResult:
    """The copy task of the backend protocol: export one segment; returns the items written."""
    return export_segment(plan, int(item.spec))


def export_segment(plan: ExportPlan, segment: int) -> CopyResult:
    """Write one segment's items as one data file; returns once the file is in its folder."""
    source = wire_client(plan.source)
    renames = dict(plan.renames)
    written = expired = 0
    now = time.time()
    handle, name = tempfile.mkstemp(prefix=f"export-{segment:05d}-", suffix=".json.gz")
    os.close(handle)
    local = Path(name)
    try:
        with gzip.open(local, "wb") as out:
            for page in scan_segment(source, plan.source_table, plan.total_segments, segment,
                                     Pacer(plan.read_units_per_s), plan.return_consumed):
                for item in page:
                    if ditems.expired(item, plan.ttl_attribute, now):
                        expired += 1
                        continue
                    out.write(_line({"Item": ditems.renamed(item, renames)}).encode())
                    out.write(b"\n")
                    written += 1
        plan.folder.upload(local, data_name(segment), written)
    finally:
        local.unlink(missing_ok=True)
    return CopyResult(written, {EXPIRED: expired} if plan.ttl_attribute is not None else {})


def check_folder(folder: Folder, resuming: bool) -> None:
    """Refuse a folder holding a complete export, or another run's data files when not resuming."""
    if folder.exists(SUMMARY):
        raise RuntimeFailure(f"{folder.uri(SUMMARY)} exists: {folder.location} holds a complete export",
                             hint="write the export into an empty folder (change target.path), "
                                  "or delete the old export first")
    if not resuming and folder.entries(DATA):
        raise RuntimeFailure(f"{folder.uri(DATA)} holds data files of another run, and this run resumes none",
                             hint="resume that run with its savepoint, or write into an empty folder")


def write_manifests(folder: Folder, total_segments: int, table: dict[str, Any]) -> tuple[int, int]:
    """``manifest-files.json`` then ``manifest-summary.json`` from the folder's data files; (files, items).

    Every segment must have its file: a missing one means the export is not complete.
    """
    entries = {entry.name: entry for entry in folder.entries(DATA)}
    missing = [s for s in range(total_segments) if data_name(s) not in entries]
    if missing:
        raise RuntimeFailure(f"{folder.uri(DATA)} lacks the data files of segments {missing[:10]}; "
                             "the manifests are not written, so the export does not look complete",
                             hint="run the export again from its savepoint")
    chosen = [entries[data_name(s)] for s in range(total_segments)]
    bucket, prefix = folder.bucket_prefix if folder.remote else ("", "")
    lines = [_line({"itemCount": e.items, "etag": e.etag, "dataFileS3Key": f"{prefix}{e.name}"}) for e in chosen]
    folder.write_text(FILES, "\n".join(lines) + "\n")
    items = sum(e.items for e in chosen)
    summary = {
        "version": VERSION,
        "exportTime": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "s3Bucket": bucket or None,
        "s3Prefix": prefix.rstrip("/") or None,
        "manifestFilesS3Key": f"{prefix}{FILES}",
        "itemCount": items,
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
        **table,
    }
    folder.write_text(SUMMARY, json.dumps(summary, indent=2) + "\n")
    return len(chosen), items
