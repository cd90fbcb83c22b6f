"""Files in S3-compatible object storage, addressed as ``s3://bucket/key``.

The client is boto3's, configured the usual AWS way: endpoint from
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``), region from
``AWS_DEFAULT_REGION`` (``us-east-1`` when unset), credentials from
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` and
``~/.aws/config``, or an instance role. Timeouts are short and retries few:
an unreachable store answers :class:`StorageUnavailable` within seconds
instead of holding a request.

astropy reads a local file (memory-mapped mosaics, gwcs in ASDF extensions):
:meth:`S3Storage.cached` (and :meth:`S3Storage.readable_path`) keep a copy per
object version (ETag) in a cache folder, checked against the store on every
use and held under a size bound (:mod:`webbarchive.storage.cache`); ingest
reads through a temporary copy (:meth:`S3Storage.local_file`) that is removed
afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
import botocore.exceptions as bce
from botocore.config import Config

from webbarchive.storage.cache import CopyCache
from webbarchive.storage.errors import StorageUnavailable
from webbarchive.storage.local import CHUNK, FileStat

SCHEME = "s3://"
#: Errors that say the store did not answer (as opposed to answering "no").
_UNREACHABLE = (
    bce.EndpointConnectionError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.ConnectionClosedError,
    bce.HTTPClientError,
    bce.ResponseStreamingError,
)
_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


def split(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of ``s3://bucket/key`` (key may be empty)."""
    if not uri.startswith(SCHEME):
        raise ValueError(f"not an s3:// location: {uri!r}")
    bucket, _, key = uri[len(SCHEME) :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}; expected s3://bucket/prefix")
    return bucket, key


def endpoint() -> str | None:
    """The S3 endpoint URL from the environment (None: AWS itself)."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def client(timeout_s: float) -> Any:
    """A boto3 S3 client for the current environment, one per process (a client
    inherited through fork would share its parent's sockets)."""
    key = (os.getpid(), endpoint(), region(), timeout_s)
    with _clients_lock:
        if key not in _clients:
            config = Config(
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},
                signature_version="s3v4",
            )
            _clients[key] = boto3.session.Session().client(
                "s3", endpoint_url=endpoint(), region_name=region(), config=config
            )
        return _clients[key]


def unavailable(where: str, exc: Exception) -> StorageUnavailable | None:
    """The StorageUnavailable that ``exc`` means, or None when the store answered."""
    if isinstance(exc, _UNREACHABLE):
        return StorageUnavailable(where, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, bce.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = exc.response.get("Error", {}).get("Code", "")
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "RequestTimeout"):
            return StorageUnavailable(where, f"{code or status}: {exc}")
    return None


def _missing(exc: Exception) -> bool:
    return isinstance(exc, bce.ClientError) and (
        exc.response.get("Error", {}).get("Code", "") in _MISSING
    )


class S3Storage:
    """Objects of S3-compatible storage; every method takes ``s3://bucket/key``."""

    #: Default bound of the cache folder (bytes); the setting is WEBBARCHIVE_STORAGE_CACHE_MB.
    CACHE_BYTES = 4096 * 1_000_000

    def __init__(
        self, cache_root: Path, timeout_s: float = 5.0, cache_bytes: int = CACHE_BYTES
    ) -> None:
        self.cache_root = Path(cache_root)
        self.timeout_s = timeout_s
        self.cache = CopyCache(self.cache_root, cache_bytes)

    @property
    def client(self) -> Any:
        return client(self.timeout_s)

    @contextlib.contextmanager
    def _calling(self, uri: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            down = unavailable(endpoint() or "s3", exc)
            if down is not None:
                raise down from exc
            raise

    def _head(self, uri: str) -> dict | None:
        bucket, key = split(uri)
        with self._calling(uri):
            try:
                return self.client.head_object(Bucket=bucket, Key=key)
            except bce.ClientError as exc:
                if _missing(exc):
                    return None
                raise

    def stat(self, uri: str) -> FileStat | None:
        """Size (bytes) and last modification (unix seconds), or None when absent."""
        head = self._head(uri)
        if head is None:
            return None
        return FileStat(
            size=head["ContentLength"], mtime=float(int(head["LastModified"].timestamp()))
        )

    def exists(self, uri: str) -> bool:
        return self._head(uri) is not None

    def size(self, uri: str) -> int:
        head = self._head(uri)
        if head is None:
            raise FileNotFoundError(uri)
        return head["ContentLength"]

    def iter_bytes(
        self, uri: str, start: int = 0, end: int | None = None, chunk_size: int = CHUNK
    ) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, by one ranged GET. The request is
        made here, not at the first chunk, so an unreachable store raises before
        a response status is sent."""
        bucket, key = split(uri)
        wanted = f"bytes={start}-" + ("" if end is None else str(end))
        with self._calling(uri):
            body = self.client.get_object(Bucket=bucket, Key=key, Range=wanted)["Body"]
        return self._chunks(uri, body, chunk_size)

    def _chunks(self, uri: str, body: Any, chunk_size: int) -> Iterator[bytes]:
        try:
            with self._calling(uri):
                yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def _download(self, uri: str, target: Path) -> None:
        bucket, key = split(uri)
        partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.partial")
        try:
            with self._calling(uri), open(partial, "wb") as out:
                self.client.download_fileobj(bucket, key, out)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def _cache_path(self, uri: str) -> Path:
        """Where the copy of the object as it is now (its ETag) lives in the cache."""
        head = self._head(uri)
        if head is None:
            raise FileNotFoundError(uri)
        etag = head.get("ETag", "").strip('"').replace("-", "_") or "noetag"
        name = PurePosixPath(split(uri)[1]).name
        digest = hashlib.sha1(uri.encode()).hexdigest()[:16]
        return self.cache_root / f"{digest}-{etag}-{name}"

    def readable_path(self, uri: str) -> Path:
        """A local copy of the object as it is now (checked against its ETag),
        downloaded once per version into the cache folder. Open it at once: it
        is kept from eviction only while open here, or for
        :data:`~webbarchive.storage.cache.IN_USE_S` seconds (prefer :meth:`cached`)."""
        return self.cache.ensure(self._cache_path(uri), lambda target: self._download(uri, target))

    @contextlib.contextmanager
    def cached(self, uri: str) -> Iterator[Path]:
        """The local copy of :meth:`readable_path`, never evicted by this process
        while the block runs."""
        with self.cache.pinned(
            self._cache_path(uri), lambda target: self._download(uri, target)
        ) as local:
            yield local

    @contextlib.contextmanager
    def local_file(self, uri: str) -> Iterator[Path]:
        """A temporary local copy of the object, removed on exit (ingest)."""
        with tempfile.TemporaryDirectory(prefix="webbarchive-s3-") as folder:
            target = Path(folder) / PurePosixPath(split(uri)[1]).name
            self._download(uri, target)
            yield target

    def presigned_url(self, uri: str, expires_s: int, filename: str | None = None) -> str:
        """A GET URL for the object valid ``expires_s`` seconds, without credentials
        (the signature carries them); ``filename`` sets Content-Disposition."""
        bucket, key = split(uri)
        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        with self._calling(uri):
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_s
            )

    def list_files(self, prefix_uri: str) -> list[tuple[str, FileStat]]:
        """Every object under ``prefix_uri`` (a folder: a trailing ``/`` is implied
        unless the prefix names one object), sorted by key, with its stat."""
        bucket, prefix = split(prefix_uri)
        found: list[tuple[str, FileStat]] = []
        with self._calling(prefix_uri):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    rest = key[len(prefix) :]
                    if prefix and not prefix.endswith("/") and rest and not rest.startswith("/"):
                        continue  # s3://b/data must not list s3://b/database/...
                    stat = FileStat(
                        size=item["Size"], mtime=float(int(item["LastModified"].timestamp()))
                    )
                    found.append((f"{SCHEME}{bucket}/{key}", stat))
        return sorted(found)

    def delete(self, uri: str) -> None:
        """Remove the object (nothing to do when it is not there)."""
        bucket, key = split(uri)
        with self._calling(uri):
            self.client.delete_object(Bucket=bucket, Key=key)

    def put_file(self, local: str | Path, uri: str) -> None:
        """Upload the local file to ``uri`` (multipart above boto3's threshold)."""
        bucket, key = split(uri)
        with self._calling(uri):
            self.client.upload_file(str(local), bucket, key)
