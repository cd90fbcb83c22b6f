"""Files in a local folder, addressed by their absolute path."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Bytes read per chunk when streaming. 1 MiB keeps the per-request memory
#: small while making the threadpool hop per chunk negligible (bench/download.py).
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileStat:
    """What a download needs to know about a stored file: its ``size`` in
    bytes and its modification time ``mtime`` (unix seconds)."""

    size: int
    mtime: float


class LocalStorage:
    def exists(self, path: str) -> bool:
        return Path(path).is_file()

    def size(self, path: str) -> int:
        return os.stat(path).st_size

    def stat(self, path: str) -> FileStat | None:
        """Size and modification time, or None when the file is not there."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not Path(path).is_file():
            return None
        return FileStat(size=st.st_size, mtime=st.st_mtime)

    def local_path(self, path: str) -> Path:
        """A path astropy can open (memory-mapped where it can)."""
        return Path(path)

    def readable_path(self, path: str) -> Path:
        """The file itself: a local file needs no copy (see S3Storage's)."""
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        return Path(path)

    @contextlib.contextmanager
    def cached(self, path: str) -> Iterator[Path]:
        """The file itself (an S3 object's is a cached copy, kept while the block runs)."""
        yield self.readable_path(path)

    @contextlib.contextmanager
    def local_file(self, path: str) -> Iterator[Path]:
        """The file itself, for readers that also take an S3 object's temporary copy."""
        yield Path(path)

    def presigned_url(self, path: str, expires_s: int, filename: str | None = None) -> None:
        """None: a local file has no URL of its own; the server streams it."""
        return None

    def iter_bytes(
        self, path: str, start: int = 0, end: int | None = None, chunk_size: int = CHUNK
    ) -> Iterator[bytes]:
        """Stream bytes ``start`` to ``end`` inclusive (the whole file by default).

        Stops early, without raising, if the file shrinks while it is read: the
        HTTP status is already sent by then, and the client sees a short body
        against its Content-Length.
        """
        stop = self.size(path) - 1 if end is None else end
        with open(path, "rb", buffering=0) as fh:
            fh.seek(start)
            remaining = stop - start + 1
            while remaining > 0:
                chunk = fh.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
