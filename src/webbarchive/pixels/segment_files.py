"""Where the pixel store's segment files live, on local disk or in S3-compatible
object storage, decided in one place.

A segment is named relative to the store's root
(``productType=x1d/mode=.../seg-....parquet``). :class:`SegmentFiles` turns
names into locations and writes, lists and deletes segments; a location (what
a search passes around, to Dask workers too) is an absolute path on local disk
or ``s3://bucket/key`` in object storage. :func:`reader` turns a location into
the (filesystem, path) that pyarrow opens, :func:`duckdb_source` into what
DuckDB scans.

On local disk nothing differs from a store without this module: pyarrow opens
the path itself (memory-mapped), DuckDB's ``read_parquet`` reads it, a segment
is written under a temporary name and renamed. In object storage (a root
``s3://bucket/prefix``):

- pyarrow's :class:`~pyarrow.fs.S3FileSystem` reads footers and row groups by
  ranged GETs, configured as :mod:`webbarchive.storage.s3` configures boto3
  (endpoint from ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, region from
  ``AWS_REGION`` or ``AWS_DEFAULT_REGION``, the usual AWS credentials, timeout
  ``WEBBARCHIVE_STORAGE_TIMEOUT_S``);
- DuckDB scans a pyarrow dataset over the same objects (its filters pushed
  down to the row-group statistics), not its ``httpfs`` extension, which it
  would have to download at runtime;
- a segment is written to a local temporary file, checksummed there, then
  uploaded: an object appears whole or not at all, and the catalog lists the
  segment only after the upload has returned. Objects are uploaded, listed and
  deleted by :class:`webbarchive.storage.s3.S3Storage` (boto3), as products
  are: an unreachable store raises
  :class:`~webbarchive.storage.StorageUnavailable` there (pyarrow's deletes
  would also leave a "folder" marker object behind each emptied partition).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from webbarchive.storage.choose import open_storage
from webbarchive.storage.errors import StorageUnavailable
from webbarchive.storage.s3 import SCHEME, endpoint, region, split

#: A local segment is written as ``<name>.parquet.partial`` and renamed when complete.
PARTIAL_SUFFIX = ".parquet.partial"
#: Bytes read per block when checksumming.
_BLOCK = 4 << 20


def is_remote(location: str | Path) -> bool:
    return str(location).startswith(SCHEME)


_filesystems: dict[tuple, pafs.S3FileSystem] = {}
_filesystems_lock = threading.Lock()


def _timeout_s() -> float:
    from webbarchive.config import current

    return float(current().storage_timeout_s)


def s3_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem for the current environment, one per process and
    endpoint (as :func:`webbarchive.storage.s3.client`)."""
    key = (os.getpid(), endpoint(), region())
    with _filesystems_lock:
        if key not in _filesystems:
            options: dict = {"region": region()}
            url = endpoint()
            if url:
                parts = urlsplit(url if "://" in url else f"https://{url}")
                options |= {"endpoint_override": parts.netloc + parts.path.rstrip("/")}
                options |= {"scheme": parts.scheme}
            timeout = _timeout_s()
            _filesystems[key] = pafs.S3FileSystem(
                **options,
                connect_timeout=timeout,
                request_timeout=timeout,
                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=2),
            )
        return _filesystems[key]


def reader(location: str) -> tuple[pafs.FileSystem | None, str]:
    """(filesystem, path) that pyarrow opens ``location`` with: (None, the path)
    on local disk, so pyarrow reads it as it always has; the S3 filesystem and
    ``bucket/key`` in object storage."""
    if not location.startswith(SCHEME):
        return None, location
    bucket, key = split(location)
    return s3_filesystem(), f"{bucket}/{key}"


#: What pyarrow (and DuckDB reading through it) says of an object that is not there.
_NOT_FOUND = ("RESOURCE_NOT_FOUND", "NoSuchKey", "does not exist")
#: AWS SDK errors that mean the store did not answer, or answered that it is busy.
_DOWN = (
    "NETWORK_CONNECTION",
    "curlCode",
    "SERVICE_UNAVAILABLE",
    "SLOW_DOWN",
    "REQUEST_TIMEOUT",
    "INTERNAL_FAILURE",
)


def vanished(exc: BaseException) -> bool:
    """Whether ``exc`` says a segment is not there (deleted after a search planned
    to read it: a search plans again). Local files: FileNotFoundError; objects:
    pyarrow's OSError, or DuckDB's error about the Arrow stream, naming it."""
    if isinstance(exc, FileNotFoundError):
        return True
    return isinstance(exc, OSError | duckdb.Error) and any(t in str(exc) for t in _NOT_FOUND)


def unreachable(exc: BaseException) -> StorageUnavailable | None:
    """The :class:`StorageUnavailable` that an error of reading segments from
    object storage means (the web layer answers 503), or None."""
    text = str(exc)
    if "AWS Error" in text and any(code in text for code in _DOWN):
        return StorageUnavailable(endpoint() or "s3", text)
    return None


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: The name under which :func:`duckdb_source` asks for a dataset to be registered.
DATASET_VIEW = "segments"


def duckdb_source(locations: list[str]) -> tuple[str, dict[str, object]]:
    """What a DuckDB statement reads ``locations`` from, in their order: the FROM
    text, and the Arrow objects to register under the names it uses (none on
    local disk: ``read_parquet([...])``)."""
    if not any(is_remote(p) for p in locations):
        return "read_parquet([" + ", ".join(_sql_literal(p) for p in locations) + "])", {}
    import pyarrow.dataset as ds

    from webbarchive.pixels.store import SCHEMA

    fragments = [remote_fragment(os.getpid(), p) for p in locations]
    dataset = ds.FileSystemDataset(
        fragments, schema=SCHEMA, format=_parquet_format(), filesystem=s3_filesystem()
    )
    return DATASET_VIEW, {DATASET_VIEW: dataset}


@lru_cache(maxsize=1)
def _parquet_format():
    import pyarrow.dataset as ds

    return ds.ParquetFileFormat()


@lru_cache(maxsize=8192)
def remote_fragment(pid: int, location: str):
    """The pyarrow fragment of a segment in object storage, its footer read once
    per process (``pid``: a forked process opens its own filesystem). A search
    through DuckDB read every candidate segment's footer again, one ranged GET
    each, on every query; segments are never modified, only replaced under a new
    name, so the cached footer cannot go stale (a deleted one fails its read as
    :func:`vanished`, and the search plans again)."""
    filesystem, where = reader(location)
    fragment = _parquet_format().make_fragment(where, filesystem=filesystem)
    fragment.ensure_complete_metadata()
    return fragment


def file_sha256(path: Path) -> str:
    """SHA-256 of a local file's bytes, read in 4 MiB blocks (a freshly written
    segment is still in the page cache: ~0.1 s per 8 million pixels)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class SegmentFiles:
    """The segment files under ``root``: a local folder or ``s3://bucket/prefix``."""

    def __init__(self, root: Path | str) -> None:
        self.remote = is_remote(root)
        self.root: Path | str = str(root).rstrip("/") if self.remote else Path(root)

    def location(self, segment: str) -> Path | str:
        """Where ``segment`` lives: a Path on local disk, ``s3://bucket/key`` in
        object storage."""
        if self.remote:
            return f"{self.root}/{segment}"
        return self.root / segment

    def locations(self, segments: list[str]) -> list[str]:
        if self.remote:
            return [f"{self.root}/{s}" for s in segments]
        root = self.root
        return [str(root / s) for s in segments]

    def open(self, segment: str) -> tuple[pafs.FileSystem | None, str]:
        """(filesystem, path) of ``segment`` for pyarrow (see :func:`reader`)."""
        return reader(str(self.location(segment)))

    def publish(self, segment: str, write: Callable[[Path], None]) -> tuple[str, int]:
        """Create ``segment`` by ``write`` (given a local path to write to) so that
        it appears whole: renamed from a partial name on local disk, uploaded
        from a temporary file to object storage. Returns its SHA-256 and size in
        bytes. Leaves nothing behind when ``write`` or the upload fails."""
        if not self.remote:
            target = self.location(segment)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(PARTIAL_SUFFIX)
            try:
                write(partial)
                os.replace(partial, target)
            except BaseException:  # a full disk, an interrupt: leave no half-written file
                partial.unlink(missing_ok=True)
                raise
            return file_sha256(target), target.stat().st_size
        with tempfile.TemporaryDirectory(prefix="webbarchive-segment-") as folder:
            local = Path(folder) / segment.rsplit("/", 1)[-1]
            write(local)
            sha256, size = file_sha256(local), local.stat().st_size
            # one PUT (multipart above boto3's threshold): the object is listed and
            # readable only once complete
            uri = self.location(segment)
            open_storage(uri).put_file(local, uri)
        return sha256, size

    def delete(self, segment: str) -> None:
        if not self.remote:
            self.location(segment).unlink(missing_ok=True)
            return
        uri = self.location(segment)
        open_storage(uri).delete(uri)

    def listing(self) -> dict[str, int]:
        """``{name relative to root: size in bytes}`` of every segment file
        (complete or partial) under the root."""
        found: dict[str, int] = {}
        if not self.remote:
            if not self.root.is_dir():
                return found
            for folder, _dirs, names in os.walk(self.root):
                for name in names:
                    if name.endswith(".parquet") or name.endswith(PARTIAL_SUFFIX):
                        path = Path(folder) / name
                        found[path.relative_to(self.root).as_posix()] = path.stat().st_size
            return found
        for uri, stat in open_storage(self.root).list_files(self.root):
            if uri.endswith(".parquet"):
                found[uri[len(self.root) + 1 :]] = stat.size
        return found

    def sha256(self, segment: str) -> str:
        """SHA-256 of the segment's bytes as stored (streamed from object storage)."""
        if not self.remote:
            return file_sha256(self.location(segment))
        uri = self.location(segment)
        digest = hashlib.sha256()
        for block in open_storage(uri).iter_bytes(uri, chunk_size=_BLOCK):
            digest.update(block)
        return digest.hexdigest()

    def read_table(self, segment: str, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.parquet as pq

        fs, path = self.open(segment)
        return pq.read_table(path, columns=columns, filesystem=fs)
