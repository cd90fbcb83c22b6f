"""Where a catalog's own stores live (pixel store, telemetry, job results,
preview cache): beside a SQLite file, named after it; for a PostgreSQL
catalog, in a folder per server and database under a configured base."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine


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
