"""Files in a local folder, addressed by their absolute path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20


class LocalStorage:
    def exists(self, path: str) -> bool:
        return Path(path).is_file()

    def size(self, path: str) -> int:
        return os.stat(path).st_size

    def local_path(self, path: str) -> Path:
        """A path astropy can open (memory-mapped where it can)."""
        return Path(path)

    def iter_bytes(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start`` to ``end`` inclusive (the whole file by default)."""
        stop = self.size(path) - 1 if end is None else end
        with open(path, "rb") as fh:
            fh.seek(start)
            remaining = stop - start + 1
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk


def open_storage(path: str) -> LocalStorage:
    """The storage that holds ``path`` (local only for now; ``s3://`` later)."""
    if "://" in path:
        raise NotImplementedError(f"storage scheme of {path!r} is not supported yet")
    return LocalStorage()
