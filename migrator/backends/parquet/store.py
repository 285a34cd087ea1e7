"""Where Parquet files are: a local folder (or one file) or an S3 prefix (or one object), behind one interface.

Files are named by URI: ``file:/abs/path.parquet`` locally (the form Spark and upstream's
``skipParquetFiles`` use) and ``s3a://bucket/key`` (in the scheme the config uses) on S3. Two URIs
name the same file when ``same_file`` says so, whatever spelling a savepoint used.

A file's ``version`` is its S3 ETag, or ``<size>:<mtime in ns>`` locally: reading a file checks it
first (``IfMatch`` on S3), so a file replaced after the run was planned is refused, never half-read.
Written files appear whole: a local file is renamed into place, an S3 object is put in one request.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from migrator.backends.s3export.loader import S3Spec, s3_client
from migrator.errors import RuntimeFailure
from migrator.s3 import is_s3_uri, split_prefix

DOWNLOAD_CHUNK = 8 << 20


@dataclass(frozen=True)
class ParquetFile:
    """One file: its URI, size in bytes and version (ETag, or size and modification time)."""

    uri: str
    size: int
    version: str


def same_file(uri: str) -> tuple[str, str]:
    """A spelling-independent name: ``("s3", "bucket/key")`` or ``("file", "/abs/path")``."""
    if is_s3_uri(uri):
        return "s3", uri.split("://", 1)[1]
    path = uri.removeprefix("file://") if uri.startswith("file://") else uri.removeprefix("file:")
    return "file", os.path.abspath(path)


def _hidden(name: str) -> bool:
    """Spark's rule: names starting with ``_`` or ``.`` (``_SUCCESS``, ``.crc`` files) are not data."""
    return name.startswith(("_", "."))


@dataclass(frozen=True)
class Store:
    """A location holding Parquet files; plain picklable data (executors read and write through it)."""

    location: str  # as configured
    s3: S3Spec | None = None  # None: local
    role: str = "source"

    @property
    def remote(self) -> bool:
        """Whether the location is on S3."""
        return self.s3 is not None

    def _bucket_prefix(self) -> tuple[str, str, str]:
        scheme, bucket, prefix = split_prefix(self.location, f"{self.role}.path")
        return scheme, bucket, prefix

    def uri(self, name: str) -> str:
        """The URI of ``name`` inside the folder."""
        if self.remote:
            scheme, bucket, prefix = self._bucket_prefix()
            return f"{scheme}://{bucket}/{prefix}{name}"
        return "file:" + str(Path(self.location).absolute() / name)

    # --- listing -----------------------------------------------------------------------------------

    def listing(self) -> list[ParquetFile]:
        """Every data file under the location (recursively, hidden names skipped), sorted by URI."""
        found = self._remote_listing() if self.remote else self._local_listing()
        return sorted(found, key=lambda f: f.uri)

    def _local_listing(self) -> list[ParquetFile]:
        root = Path(self.location)
        if root.is_file():
            return [_local_file(root)]
        if not root.is_dir():
            return []
        found = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not _hidden(d))
            found += [_local_file(Path(folder) / name) for name in files if not _hidden(name)]
        return found

    def _remote_listing(self) -> list[ParquetFile]:
        scheme, bucket, prefix = self._bucket_prefix()
        client = self._client()
        found = []
        with translate(f"{scheme}://{bucket}/{prefix}", "listing"):
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    relative = entry["Key"][len(prefix):]
                    if relative and not any(_hidden(part) for part in relative.split("/")):
                        found.append(ParquetFile(f"{scheme}://{bucket}/{entry['Key']}", int(entry["Size"]),
                                                 str(entry["ETag"]).strip('"')))
            if not found and prefix:  # the location may name one object
                single = prefix.rstrip("/")
                with contextlib.suppress(RuntimeFailure):
                    head = self._head(bucket, single)
                    found.append(ParquetFile(f"{scheme}://{bucket}/{single}", int(head["ContentLength"]),
                                             str(head["ETag"]).strip('"')))
        return found

    def _head(self, bucket: str, key: str) -> Any:
        import botocore.exceptions

        try:
            return self._client().head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            raise RuntimeFailure(f"s3://{bucket}/{key}: {_code(exc)}") from None

    # --- reading -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def local_copy(self, file: ParquetFile) -> Iterator[str]:
        """A local path holding ``file`` as planned: the file itself, or a downloaded temporary copy.

        Refuses (exit 3) a file that is gone or was replaced since it was listed.
        """
        if not self.remote:
            path = same_file(file.uri)[1]
            try:
                now = _local_file(Path(path))
            except FileNotFoundError:
                raise RuntimeFailure(f"{file.uri}: the file is gone since the run was planned",
                                     hint="put the file back, or start over with --fresh") from None
            if now.version != file.version:
                raise changed(file)
            yield path
            return
        bucket, key = file.uri.split("://", 1)[1].split("/", 1)
        with tempfile.TemporaryDirectory(prefix="migrator-parquet-") as folder:
            path = os.path.join(folder, "data.parquet")
            self._download(bucket, key, file, path)
            yield path

    def _download(self, bucket: str, key: str, file: ParquetFile, path: str) -> None:
        import botocore.exceptions

        try:
            body = self._client().get_object(Bucket=bucket, Key=key, IfMatch=file.version)["Body"]
        except botocore.exceptions.ClientError as exc:
            code = _code(exc)
            if code in ("PreconditionFailed", "412"):
                raise changed(file) from None
            if code in ("NoSuchKey", "404"):
                raise RuntimeFailure(f"{file.uri}: no such object any more", hint="put the file back, "
                                     "or start over with --fresh") from None
            raise RuntimeFailure(f"reading {file.uri} failed: {code}") from None
        with open(path, "wb") as out:
            for chunk in iter(lambda: body.read(DOWNLOAD_CHUNK), b""):
                out.write(chunk)

    @contextlib.contextmanager
    def footer_reader(self, file: ParquetFile) -> Iterator[IO[bytes] | str]:
        """Something pyarrow reads the file's footer from, without downloading the data (ranged GETs on S3)."""
        if not self.remote:
            yield same_file(file.uri)[1]
            return
        bucket, key = file.uri.split("://", 1)[1].split("/", 1)
        yield RangeReader(self._client(), bucket, key, file)  # type: ignore[misc]

    # --- writing -----------------------------------------------------------------------------------

    def put(self, local: Path, name: str) -> None:
        """Put a complete local file at ``name``, replacing what was there; it appears whole."""
        if self.remote:
            _, bucket, prefix = self._bucket_prefix()
            with translate(self.uri(name), "writing"):
                self._client().upload_file(str(local), bucket, prefix + name)
            return
        final = Path(self.location) / name
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local, final)

    def put_text(self, name: str, text: str) -> None:
        """Put a small text file (``_SUCCESS``)."""
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.scratch(), prefix=".") as handle:
            handle.write(text)
        self.put(Path(handle.name), name)

    def scratch(self) -> str | None:
        """Where to write a file before it is put: beside its final place locally (so the rename is atomic)."""
        if self.remote:
            return None
        Path(self.location).mkdir(parents=True, exist_ok=True)
        return self.location

    def delete(self, files: list[ParquetFile]) -> None:
        """Remove ``files`` (overwrite mode)."""
        for file in files:
            if self.remote:
                bucket, key = file.uri.split("://", 1)[1].split("/", 1)
                with translate(file.uri, "deleting"):
                    self._client().delete_object(Bucket=bucket, Key=key)
            else:
                Path(same_file(file.uri)[1]).unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        """Remove ``name`` from the folder if it is there."""
        if self.remote:
            _, bucket, prefix = self._bucket_prefix()
            with translate(self.uri(name), "deleting"):
                self._client().delete_object(Bucket=bucket, Key=prefix + name)
        else:
            (Path(self.location) / name).unlink(missing_ok=True)

    def _client(self) -> Any:
        assert self.s3 is not None
        return s3_client(self.s3)


class RangeReader:
    """A read-only, seekable view of an S3 object fetching only the ranges asked for (the footer)."""

    def __init__(self, client: Any, bucket: str, key: str, file: ParquetFile) -> None:
        self.client, self.bucket, self.key, self.file = client, bucket, key, file
        self.position = 0
        self.closed = False

    def seekable(self) -> bool:
        """Yes."""
        return True

    def readable(self) -> bool:
        """Yes."""
        return True

    def tell(self) -> int:
        """The position."""
        return self.position

    def size(self) -> int:
        """The object's size."""
        return self.file.size

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move the position as ``io`` files do."""
        base = {0: 0, 1: self.position, 2: self.file.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes from the position (the rest of the object for -1)."""
        import botocore.exceptions

        end = self.file.size if n is None or n < 0 else min(self.file.size, self.position + n)
        if end <= self.position:
            return b""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key, IfMatch=self.file.version,
                                          Range=f"bytes={self.position}-{end - 1}")["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412"):
                raise changed(self.file) from None
            raise RuntimeFailure(f"reading {self.file.uri} failed: {_code(exc)}") from None
        self.position += len(body)
        return bytes(body)

    def close(self) -> None:
        """Nothing held."""
        self.closed = True


def changed(file: ParquetFile) -> RuntimeFailure:
    """The refusal of a file replaced since it was listed."""
    return RuntimeFailure(f"{file.uri} changed since the run was planned (it was version {file.version})",
                          hint="a resumed import reads the files as they were; start over with --fresh "
                               "to import the files as they are now")


def _local_file(path: Path) -> ParquetFile:
    stat = path.stat()
    return ParquetFile("file:" + str(path.absolute()), stat.st_size, f"{stat.st_size}:{stat.st_mtime_ns}")


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) or str(exc)


@contextlib.contextmanager
def translate(uri: str, doing: str) -> Iterator[None]:
    """boto3 failures while ``doing`` something with ``uri`` as a ``RuntimeFailure`` naming both."""
    import botocore.exceptions

    try:
        yield
    except botocore.exceptions.ClientError as exc:
        raise RuntimeFailure(f"{doing} {uri} failed: {_code(exc)}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise RuntimeFailure(f"{doing} {uri} failed: {exc}") from None


def store_for(path: str, settings: Any, role: str) -> Store:
    """The store of a ``type: parquet`` block: on S3 for an S3 URI, else local (``file:`` URIs too)."""
    if not is_s3_uri(path):
        return Store(same_file(path)[1] if path.startswith("file:") else path, None, role)
    from migrator.backends.dynamodb.client import spec_from_settings

    spec = spec_from_settings(role, settings)
    return Store(path, S3Spec(spec, bool(getattr(settings, "use_path_style_access", None))), role)
