"""Where a catalog's own stores live (pixel store, telemetry, job results,
preview cache): beside a SQLite file, named after it; for a PostgreSQL
catalog, in a folder per server and database under a configured base; in
object storage (:func:`store_location`), under an ``s3://`` base, named for
the catalog either way."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Engine

from webbarchive.storage.s3 import SCHEME


def store_folder(engine: Engine, suffix: str, base: str, *, scratch: bool = False) -> Path:
    """``<catalog file>.<suffix>`` beside a SQLite catalog, else
    ``<base>/<host>_<port>_<database>``. An in-memory SQLite catalog has no
    place for lasting files: ValueError, or ``<base>/in-memory`` for a
    ``scratch`` store (caches, job results) that may be lost."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            if scratch:
                return Path(base) / "in-memory"
            raise ValueError(f"an in-memory SQLite catalog has no place for its {suffix} store")
        return Path(database).resolve().with_name(f"{Path(database).name}.{suffix}")
    return Path(base) / f"{url.host or 'local'}_{url.port or 5432}_{url.database}"


def store_location(engine: Engine, suffix: str, base: str) -> Path | str:
    """:func:`store_folder`, or with ``base`` in object storage (``s3://bucket/prefix``)
    ``<base>/<host>_<port>_<database>`` for PostgreSQL and
    ``<base>/<catalog file name>-<digest>.<suffix>`` for SQLite, where the digest
    (of the file's absolute path) keeps apart two catalogs of the same name
    that share the bucket: each deletes the files under its own prefix that it
    does not list. A SQLite catalog moved to another folder thus starts a new
    store there."""
    if not base.startswith(SCHEME):
        return store_folder(engine, suffix, base)
    base = base.rstrip("/")
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return f"{base}/{url.host or 'local'}_{url.port or 5432}_{url.database}"
    database = url.database
    if not database or database == ":memory:":
        raise ValueError(f"an in-memory SQLite catalog has no place for its {suffix} store")
    path = Path(database).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return f"{base}/{path.name}-{digest}.{suffix}"
