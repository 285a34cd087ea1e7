"""A DynamoDB export to S3 in the DYNAMODB_JSON format: its two manifests, read and checked on the driver.

An export is a folder of objects:

* ``manifest-summary.json``: one JSON object; ``outputFormat`` must be ``DYNAMODB_JSON`` and
  ``exportType``, when present, ``FULL_EXPORT`` (ION and incremental exports are refused by name);
  ``manifestFilesS3Key`` names the list of data files;
* ``manifest-files.json``: one JSON object per line, each naming a data file (``dataFileS3Key``)
  with its ``itemCount`` and, from AWS, its ``etag`` and ``md5Checksum``;
* the data files: gzip-compressed JSON lines, ``{"Item": {...}}`` in DynamoDB's JSON.

AWS writes keys from the bucket's root (``AWSDynamoDB/<id>/data/<name>.json.gz``); an export written
by other tools may name them relative to the manifest's folder (``data/00000.json.gz``). A key that
starts with the manifest's folder is taken as it is, any other is resolved against that folder.

Whatever is wrong with the manifests is refused before anything is written, naming the object and
the line: a missing object, JSON that does not parse, a line without ``dataFileS3Key``, an item
count that is not a number.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

from migrator.errors import ConfigError, RuntimeFailure

DYNAMODB_JSON = "DYNAMODB_JSON"
FULL_EXPORT = "FULL_EXPORT"


@dataclass(frozen=True)
class DataFile:
    """One data file of an export, as its manifest lists it."""

    key: str
    items: int | None  # the manifest's itemCount, checked against what the file holds
    etag: str | None  # the object's ETag as the manifest lists it: a changed file is refused

    @property
    def name(self) -> str:
        """The file's name without its folder, for messages."""
        return posixpath.basename(self.key)


@dataclass(frozen=True)
class Export:
    """An export's summary and data files."""

    bucket: str
    manifest_key: str
    summary_etag: str  # the summary object's ETag: another export at the same key is refused on resume
    item_count: int | None
    files: tuple[DataFile, ...]
    table_arn: str | None = None

    def uri(self, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{key}"


def read_export(s3: Any, bucket: str, manifest_key: str, *, key: str = "source.manifestKey") -> Export:
    """Both manifests of the export whose summary is ``s3://bucket/manifest_key``; refuses what is wrong.

    ``key``: the config key naming the export, for messages (a written export's: ``target.path``).
    """
    folder = posixpath.dirname(manifest_key)
    summary_text, etag = _get(s3, bucket, manifest_key, key)
    summary = _object(summary_text, f"s3://{bucket}/{manifest_key}")
    where = f"s3://{bucket}/{manifest_key}"
    output = summary.get("outputFormat")
    if output != DYNAMODB_JSON:
        raise RuntimeFailure(f"{where}: outputFormat is {output!r}; only {DYNAMODB_JSON} exports can be read",
                             hint="export the table again with ExportFormat DYNAMODB_JSON")
    kind = summary.get("exportType")
    if kind is not None and kind != FULL_EXPORT:
        raise RuntimeFailure(f"{where}: exportType is {kind!r}; only a {FULL_EXPORT} holds every item",
                             hint=f"point {key} at a full export's manifest-summary.json")
    files_key = summary.get("manifestFilesS3Key")
    if not isinstance(files_key, str) or not files_key:
        raise RuntimeFailure(f"{where}: no manifestFilesS3Key naming the list of data files",
                             hint=f"point {key} at the export's manifest-summary.json")
    files_key = resolve(folder, files_key)
    listing, _ = _get(s3, bucket, files_key, "", role=key.split(".")[0])
    files = tuple(_data_files(listing, f"s3://{bucket}/{files_key}", folder))
    count = summary.get("itemCount")
    return Export(bucket=bucket, manifest_key=manifest_key, summary_etag=etag,
                  item_count=count if isinstance(count, int) else None, files=files,
                  table_arn=summary.get("tableArn"))


def resolve(folder: str, key: str) -> str:
    """A manifest's key as a key of the bucket: as it is under the manifest's folder, else relative to it."""
    key = key.lstrip("/")
    if not folder or key.startswith(f"{folder}/"):
        return key
    return f"{folder}/{key}"


def _data_files(text: str, where: str, folder: str) -> list[DataFile]:
    files = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        entry = _object(line, f"{where} line {number}")
        key = entry.get("dataFileS3Key")
        if not isinstance(key, str) or not key:
            raise RuntimeFailure(f"{where} line {number}: no dataFileS3Key",
                                 hint="the export's manifest-files.json is damaged: export the table again")
        items = entry.get("itemCount")
        if items is not None and (not isinstance(items, int) or isinstance(items, bool) or items < 0):
            raise RuntimeFailure(f"{where} line {number}: itemCount {items!r} is not a count",
                                 hint="the export's manifest-files.json is damaged: export the table again")
        etag = entry.get("etag")
        files.append(DataFile(resolve(folder, key), items, etag if isinstance(etag, str) else None))
    return files


def _object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RuntimeFailure(f"{where}: not JSON ({exc})",
                             hint="the export's manifest is damaged: export the table again") from None
    if not isinstance(value, dict):
        raise RuntimeFailure(f"{where}: a JSON object was expected, found {type(value).__name__}",
                             hint="the export's manifest is damaged: export the table again")
    return value


def _get(s3: Any, bucket: str, key: str, path: str, role: str = "") -> tuple[str, str]:
    """The object's text and ETag; a missing object is a config error at ``path`` (or a runtime one).

    ``role``: the config block holding the endpoint (``path``'s when empty), for the hints.
    """
    role = role or path.split(".")[0]
    import botocore.exceptions

    uri = f"s3://{bucket}/{key}"
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            what = "the bucket does not exist" if code == "NoSuchBucket" else "no such object"
            if path:
                raise ConfigError([(path, f"{uri}: {what}")]) from None
            raise RuntimeFailure(f"{uri}: {what}, though the export's summary names it",
                                 hint="the export is incomplete: export the table again") from None
        raise RuntimeFailure(f"reading {uri} failed: {code or exc}",
                             hint=f"check {role}.endpoint, {role}.region and the credentials") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise RuntimeFailure(f"reading {uri} failed: {exc}",
                             hint=f"check {role}.endpoint, {role}.region and the network") from None
    try:
        return bytes(body).decode("utf-8"), str(response.get("ETag", "")).strip('"')
    except UnicodeDecodeError as exc:
        raise RuntimeFailure(f"{uri}: not UTF-8 text (byte {exc.start})",
                             hint="the export's manifest is damaged: export the table again") from None
