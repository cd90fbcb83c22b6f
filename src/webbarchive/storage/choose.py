"""Which storage holds a path, decided in one place: a stored path names its
storage by its scheme (``s3://bucket/key`` in object storage, an absolute path
on local disk), and the settings say how to reach it (cache folder, timeouts)
and where ingest puts new products (:func:`ingest_root`)."""

from __future__ import annotations

from pathlib import Path

from webbarchive.storage.local import LocalStorage
from webbarchive.storage.s3 import SCHEME, S3Storage

Storage = LocalStorage | S3Storage

_LOCAL = LocalStorage()
_s3: dict[tuple[str, float], S3Storage] = {}


def is_remote(path: str) -> bool:
    return "://" in str(path)


def open_storage(path: str, settings=None) -> Storage:
    """The storage that holds ``path``; ``settings`` (default: this process's)
    give an object store's cache folder and timeout."""
    path = str(path)
    if not is_remote(path):
        return _LOCAL
    if not path.startswith(SCHEME):
        scheme = path.split("://", 1)[0]
        raise NotImplementedError(f"storage scheme {scheme}:// of {path!r} is not supported")
    if settings is None:
        from webbarchive.config import current

        settings = current()
    key = (settings.storage_cache, settings.storage_timeout_s, settings.storage_cache_mb)
    if key not in _s3:
        _s3[key] = S3Storage(
            Path(settings.storage_cache),
            settings.storage_timeout_s,
            int(settings.storage_cache_mb * 1_000_000),
        )
    return _s3[key]


def ingest_root(settings=None) -> str | None:
    """Where ingest puts the products it is given (``s3://bucket/prefix``), or
    None when they stay where they are (the default: local disk)."""
    if settings is None:
        from webbarchive.config import current

        settings = current()
    root = settings.storage.strip()
    if not root:
        return None
    if not root.startswith(SCHEME):
        from webbarchive.config import SettingError

        raise SettingError(
            f"WEBBARCHIVE_STORAGE={root!r}: expected '' (local disk) or s3://bucket/prefix"
        )
    return root.rstrip("/")
