"""Running translated ADQL: read-only, with a statement timeout and a row limit.

PostgreSQL: a READ ONLY transaction with ``statement_timeout`` and ``jit=off``
(JIT compiles cheap spatial plans for hundreds of ms after a bad estimate).
SQLite: ``PRAGMA query_only`` and a progress handler that aborts past the
deadline; the ``wa_*`` geometry functions are registered on the connection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from webbarchive.vo import geometry
from webbarchive.vo.adql import AdqlError, OutputColumn, Translation, translate
from webbarchive.vo.metadata import TableDef

DEFAULT_TIMEOUT_S = 60.0


class QueryTimeout(RuntimeError):
    pass


@dataclass
class QueryResult:
    columns: list[OutputColumn]
    rows: list[tuple]
    overflow: bool  # MAXREC cut the result
    maxrec: int
    sql: str


def dialect_of(engine: Engine) -> str:
    return "postgresql" if engine.dialect.name == "postgresql" else "sqlite"


def run_query(
    engine: Engine,
    adql: str,
    ctx: Any,
    *,
    maxrec: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    uploads: list[TableDef] | None = None,
) -> QueryResult:
    """Translate and run ``adql``; raise :class:`AdqlError` for bad queries."""
    dialect = dialect_of(engine)
    tr: Translation = translate(adql, dialect, ctx, maxrec=maxrec, uploads=uploads)
    rows = _execute(engine, dialect, tr.sql, timeout_s)
    overflow = len(rows) > maxrec
    return QueryResult(tr.columns, rows[:maxrec], overflow, maxrec, tr.sql)


def _execute(engine: Engine, dialect: str, sql: str, timeout_s: float) -> list[tuple]:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if dialect == "postgresql":
            import psycopg

            try:
                with raw.cursor() as cur:
                    cur.execute("SET TRANSACTION READ ONLY")
                    cur.execute(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
                    cur.execute("SET LOCAL jit = off")
                    cur.execute(sql)
                    rows = cur.fetchall()
            except psycopg.errors.QueryCanceled:
                conn.rollback()
                raise QueryTimeout(f"query exceeded the {timeout_s:g} s time limit") from None
            except psycopg.Error as exc:
                conn.rollback()
                message = str(exc).strip().splitlines()[0]
                raise AdqlError(f"the database rejected the query: {message}") from None
            conn.rollback()
            return rows
        import sqlite3

        geometry.register_sqlite(raw)
        deadline = time.monotonic() + timeout_s
        # Every 200,000 VM steps (about a millisecond): often enough for the deadline,
        # rare enough that heavy queries do not keep taking the GIL from light ones.
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 200_000)
        cur = raw.cursor()
        try:
            cur.execute("PRAGMA query_only = ON")
            cur.execute(sql)
            return cur.fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout(f"query exceeded the {timeout_s:g} s time limit") from None
            raise AdqlError(f"the database rejected the query: {exc}") from None
        except sqlite3.Error as exc:
            raise AdqlError(f"the database rejected the query: {exc}") from None
        finally:
            cur.close()
            raw.set_progress_handler(None, 0)
            raw.execute("PRAGMA query_only = OFF")
