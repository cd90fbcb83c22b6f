"""Opening a catalog database: SQLite (default) or PostgreSQL with pgsphere."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from webbarchive.catalog.schema import metadata

DEFAULT_DB = "webbarchive.db"


def normalize_url(url: str | None) -> str:
    """Turn a ``--db`` value into an SQLAlchemy URL.

    Accepts a plain file path (SQLite), ``sqlite:///...`` and
    ``postgresql://...`` (driven by psycopg 3).
    """
    url = url or DEFAULT_DB
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" in url:
        return url
    return f"sqlite:///{Path(url).resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_catalog(
    url: str | None = None,
    *,
    create: bool = True,
    pool_size: int = 10,
    max_overflow: int = 10,
    query_role: str = "",
) -> Engine:
    """Return an engine on the catalog at ``url``, creating its tables if asked.

    The registry of capabilities (:mod:`webbarchive.capabilities`) imports the
    modules that define the later tables (accounts, pixels ...) before
    :func:`metadata.create_all`: that is what registers them. PostgreSQL:
    ``pool_size`` connections kept open by this process plus ``max_overflow``
    at peaks (so a server's connections are workers x their sum), and the role
    user queries run as (:mod:`webbarchive.catalog.query_role`; ``query_role``
    is ``WEBBARCHIVE_QUERY_ROLE``).
    """
    from webbarchive.capabilities import register_tables

    register_tables()  # the catalog's tables and those of the capabilities above it

    sa_url = normalize_url(url)
    if sa_url.startswith("sqlite"):
        engine = create_engine(sa_url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            sa_url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow
        )
    if create:
        create_schema(engine)
    if engine.dialect.name == "postgresql":
        from webbarchive.catalog import query_role as roles

        roles.configure(engine, query_role)
    return engine


def create_schema(engine: Engine) -> None:
    """Create what is missing of the catalog's tables, extensions and triggers
    (idempotent; writers call it under :func:`~webbarchive.catalog.writer_lock.writer_lock`
    so that two of them starting on an empty catalog do not race)."""
    if engine.dialect.name == "postgresql":
        from webbarchive.catalog import pgsphere

        with engine.begin() as conn:
            pgsphere.install(conn)
    metadata.create_all(engine)
    from webbarchive.catalog import generation

    with engine.begin() as conn:
        generation.install(conn)
    if engine.dialect.name == "postgresql":
        from webbarchive.catalog import query_role

        query_role.install_configured(engine)


def why_not_a_catalog(url: str | None) -> str | None:
    """None when ``url`` names an existing catalog; otherwise why it does not
    (no such SQLite file, an unreachable server, a database without the
    catalog's tables). Creates nothing: opening a missing SQLite file would."""
    sa_url = normalize_url(url)
    if sa_url.startswith("sqlite"):
        database = make_url(sa_url).database
        if not database or database == ":memory:" or not Path(database).is_file():
            return f"there is no catalog at {database or url}"
    engine = create_engine(sa_url)
    try:
        with engine.connect() as conn:
            has_products = inspect(conn).has_table("products")
    except SQLAlchemyError as exc:
        cause = " ".join(str(getattr(exc, "orig", None) or exc).split())
        return f"cannot open the catalog {url}: {cause[:200]}"
    finally:
        engine.dispose()
    if not has_products:
        return f"{url} holds no webbarchive catalog (no products table)"
    return None
