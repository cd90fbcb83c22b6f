"""The folder of local copies of S3 objects (astropy reads local files), held
under a size bound.

Each copy is written whole (a ``.partial`` file renamed into place) and named
by its object and version, so a copy never changes once it is there. Every use
sets its access time (``atime``; the modification time is left alone, it keys
open mosaics); when a new copy takes the folder over its bound
(``WEBBARCHIVE_STORAGE_CACHE_MB``), the least recently used copies are evicted
(renamed, then unlinked) until it fits again.

A copy is never evicted while it is in use:

- pinned by :meth:`CopyCache.pinned` in this process (the ``with`` block that
  reads it);
- open or memory-mapped by this process (``/proc/self/fd``, ``/proc/self/maps``);
- used in the last :data:`IN_USE_S` seconds by any process sharing the folder
  (the moment between a path handed out and the file opened, in another worker).

So the folder may exceed its bound by the copies in use at that moment. A
reader in another process that has the file open keeps reading it after an
eviction (POSIX: the data goes when the last descriptor closes). One process
evicts at a time (an ``flock`` on ``.evict.lock``; a busy lock means another
process is already evicting, and this one skips its turn).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

#: Seconds after its last use during which a copy counts as in use by some process.
IN_USE_S = 10.0
_LOCK_NAME = ".evict.lock"
_TEMPORARY = (".partial", ".evicted")


def _temporary(name: str) -> bool:
    return name.startswith(".") or any(mark in name for mark in _TEMPORARY)


def _open_here(root: Path) -> set[str]:
    """Paths under ``root`` that this process holds open or mapped (Linux; elsewhere empty)."""
    prefix = str(root.resolve()) + os.sep
    held: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target.startswith(prefix):
                    held.add(target)
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
        for line in maps:
            at = line.find(prefix)
            if at >= 0:
                held.add(line[at:].rstrip("\n").removesuffix(" (deleted)"))
    return held


class CopyCache:
    """Local copies in ``root``, at most ``limit_bytes`` of them beside the ones in use."""

    def __init__(self, root: Path, limit_bytes: int) -> None:
        self.root = Path(root)
        self.limit_bytes = int(limit_bytes)
        self._lock = threading.Lock()
        self._pins: Counter[Path] = Counter()

    @contextlib.contextmanager
    def pinned(self, target: Path, fetch: Callable[[Path], None]) -> Iterator[Path]:
        """``target``, fetched (``fetch(target)`` writes it whole) unless it is
        there, and kept from eviction by this process until the block ends."""
        with self._lock:
            self._pins[target] += 1
        try:
            yield self.ensure(target, fetch)
        finally:
            with self._lock:
                self._pins[target] -= 1
                if self._pins[target] <= 0:
                    del self._pins[target]

    def ensure(self, target: Path, fetch: Callable[[Path], None]) -> Path:
        """``target``, fetched unless it is there, its use recorded; a fetch
        may evict other copies."""
        for _ in range(3):  # another process may evict it between the checks
            if not target.is_file():
                self.root.mkdir(parents=True, exist_ok=True)
                fetch(target)
                self._touch(target)
                self.evict(keep=target)
            try:
                self._touch(target)
                return target
            except FileNotFoundError:
                continue
        raise FileNotFoundError(f"{target} was evicted again while it was fetched")

    @staticmethod
    def _touch(target: Path) -> None:
        """Set the access time to now, keeping the modification time."""
        mtime_ns = os.stat(target).st_mtime_ns
        os.utime(target, ns=(time.time_ns(), mtime_ns))

    def copies(self) -> list[tuple[float, int, Path]]:
        """``(atime, bytes, path)`` of every whole copy, least recently used first."""
        found = []
        with contextlib.suppress(FileNotFoundError), os.scandir(self.root) as entries:
            for entry in entries:
                if _temporary(entry.name):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat()
                    if not entry.is_file():
                        continue
                    found.append((st.st_atime, st.st_size, Path(entry.path)))
        return sorted(found)

    def size(self) -> int:
        """Bytes held by the whole copies."""
        return sum(size for _, size, _ in self.copies())

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Evict least recently used copies not in use until the folder holds at
        most ``limit_bytes``; the paths evicted."""
        copies = self.copies()
        total = sum(size for _, size, _ in copies)
        if total <= self.limit_bytes:
            return []
        if not self._lock.acquire(blocking=False):
            return []  # another thread of this process is evicting
        try:
            with self._folder_lock() as ours:
                if not ours:
                    return []
                return self._evict(self.copies(), keep)
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def _folder_lock(self) -> Iterator[bool]:
        with open(self.root / _LOCK_NAME, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _evict(self, copies: list[tuple[float, int, Path]], keep: Path | None) -> list[Path]:
        total = sum(size for _, size, _ in copies)
        held = _open_here(self.root)
        recent = time.time() - IN_USE_S
        evicted = []
        for atime, size, path in copies:  # called with self._lock held: pins cannot change
            if total <= self.limit_bytes:
                break
            if path == keep or path in self._pins or atime > recent:
                continue
            if str(path.resolve()) in held:
                continue
            doomed = path.with_name(f"{path.name}.{secrets.token_hex(4)}.evicted")
            try:
                os.rename(path, doomed)
            except FileNotFoundError:
                total -= size  # gone already (another process's eviction)
                continue
            doomed.unlink(missing_ok=True)
            total -= size
            evicted.append(path)
        return evicted
