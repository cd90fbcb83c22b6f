"""Files in a local folder, addressed by their absolute path."""

from __future__ import annotations

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


def open_storage(path: str) -> LocalStorage:
    """The storage that holds ``path`` (local only for now; ``s3://`` later)."""
    if "://" in path:
        raise NotImplementedError(f"storage scheme of {path!r} is not supported yet")
    return LocalStorage()
