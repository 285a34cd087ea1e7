"""Where an export is written: an S3 prefix (``s3://``, ``s3a://``) or a local folder, behind one interface.

Objects are named relative to the folder (``data/00003.json.gz``, ``manifest-summary.json``). A data
file is uploaded whole from a local temporary file once it is complete, with its item count as
object metadata (a sidecar ``.count`` file in a local folder), so the manifests can be written at the
end from what the folder holds, including the files of earlier, resumed runs.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.backends.s3export.loader import S3Spec, s3_client
from migrator.s3 import is_s3_uri, split_prefix

COUNT_META = "item-count"


@dataclass(frozen=True)
class DataEntry:
    """A data file the folder holds: its name, item count and ETag (S3) or size (local)."""

    name: str
    items: int
    etag: str


@dataclass(frozen=True)
class Folder:
    """An export's folder; plain picklable data (executors write into it)."""

    location: str  # as configured
    s3: S3Spec | None = None  # None: a local folder

    @property
    def remote(self) -> bool:
        """Whether the folder is on S3."""
        return self.s3 is not None

    @property
    def bucket_prefix(self) -> tuple[str, str]:
        """``(bucket, prefix)``; the prefix is empty or ends with ``/``."""
        _, bucket, prefix = split_prefix(self.location, "target.path")
        return bucket, prefix

    def uri(self, name: str) -> str:
        """The object's full name, for messages and manifests."""
        if self.remote:
            bucket, prefix = self.bucket_prefix
            return f"s3://{bucket}/{prefix}{name}"
        return str(Path(self.location) / name)

    def key(self, name: str) -> str:
        """The object's key in its bucket (S3), or its path (local)."""
        if self.remote:
            return f"{self.bucket_prefix[1]}{name}"
        return str(Path(self.location) / name)

    def exists(self, name: str) -> bool:
        """Whether the folder holds ``name``."""
        if not self.remote:
            return (Path(self.location) / name).exists()
        import botocore.exceptions

        bucket, prefix = self.bucket_prefix
        try:
            self._client().head_object(Bucket=bucket, Key=prefix + name)
        except botocore.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def upload(self, local: Path, name: str, items: int) -> None:
        """Put a complete local file at ``name`` with its item count; replaces what was there."""
        if self.remote:
            bucket, prefix = self.bucket_prefix
            self._client().upload_file(str(local), bucket, prefix + name,
                                       ExtraArgs={"Metadata": {COUNT_META: str(items)}})
            return
        final = Path(self.location) / name
        final.parent.mkdir(parents=True, exist_ok=True)
        (final.parent / f"{final.name}.count").write_text(str(items))
        shutil.move(str(local), final)  # the data file last: a file without its count is never taken as done

    def write_text(self, name: str, text: str) -> None:
        """Put a small text object (a manifest)."""
        if self.remote:
            bucket, prefix = self.bucket_prefix
            self._client().put_object(Bucket=bucket, Key=prefix + name, Body=text.encode())
            return
        final = Path(self.location) / name
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{final.name}.tmp")
        temporary.write_text(text)
        os.replace(temporary, final)

    def entries(self, under: str) -> list[DataEntry]:
        """The data files under ``under`` (e.g. ``data/``) with their item counts, sorted by name."""
        if not self.remote:
            folder = Path(self.location) / under
            found = []
            for path in sorted(folder.glob("*.json.gz")) if folder.is_dir() else []:
                count = path.with_name(f"{path.name}.count")
                if count.exists():
                    found.append(DataEntry(f"{under}{path.name}", int(count.read_text()), str(path.stat().st_size)))
            return found
        bucket, prefix = self.bucket_prefix
        client = self._client()
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + under):
            for entry in page.get("Contents", []):
                head = client.head_object(Bucket=bucket, Key=entry["Key"])
                items = (head.get("Metadata") or {}).get(COUNT_META)
                if items is not None:
                    found.append(DataEntry(entry["Key"][len(prefix):], int(items), str(head["ETag"]).strip('"')))
        return sorted(found, key=lambda e: e.name)

    def _client(self) -> Any:
        assert self.s3 is not None
        return s3_client(self.s3)


def folder_for(path: str, s3: S3Spec) -> Folder:
    """The folder of ``target.path``: on S3 for an S3 URI, else local."""
    return Folder(path, s3 if is_s3_uri(path) else None)
