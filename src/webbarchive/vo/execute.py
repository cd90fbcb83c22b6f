"""Running translated ADQL: read-only, with a time limit and a row limit, the
rows read in batches so no result is ever held whole.

PostgreSQL: a READ ONLY transaction with ``statement_timeout`` and ``jit=off``
(JIT compiles cheap spatial plans for hundreds of ms after a bad estimate),
rows read through a server-side cursor planned as a full result
(``cursor_tuple_fraction=1``, the plans of a plain execution).
SQLite: ``PRAGMA query_only`` and a progress handler that aborts past the
time limit; the ``wa_*`` geometry functions are registered on the connection.
On both, ``timeout_s`` bounds the time spent in the database over all the
batches (not the time the client takes to read them), and a streamed answer
holds its connection at most ``SLOW_READER_FACTOR`` times as long in all.

Database errors are never passed on as they are (their text may quote
values): :mod:`webbarchive.vo.query_errors` names their kind and position.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from webbarchive.catalog import query_role
from webbarchive.vo import geometry
from webbarchive.vo.adql import AdqlError, OutputColumn, Translation, translate
from webbarchive.vo.metadata import TableDef
from webbarchive.vo.query_errors import user_message

DEFAULT_TIMEOUT_S = 60.0
#: Rows read from the database at a time (and the most a streamed answer holds).
BATCH_ROWS = 5_000
#: A streamed answer's connection is released after this many time limits.
SLOW_READER_FACTOR = 10


class _Budget:
    """Database time spent by one query, in seconds, against its limit."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.spent = 0.0
        self.since: float | None = None
        self.wall_deadline = time.monotonic() + SLOW_READER_FACTOR * timeout_s

    def __enter__(self) -> _Budget:
        if time.monotonic() > self.wall_deadline:
            raise _timeout(self.timeout_s)
        self.since = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.spent += time.monotonic() - self.since
        self.since = None

    def exceeded(self) -> bool:
        running = time.monotonic() - self.since if self.since is not None else 0.0
        return self.spent + running > self.timeout_s


class QueryTimeout(RuntimeError):
    pass


@dataclass
class QueryResult:
    columns: list[OutputColumn]
    rows: list[tuple]
    overflow: bool  # MAXREC cut the result
    maxrec: int
    sql: str


class QueryStream:
    """A translated query whose rows are read in batches by :meth:`batches`.

    ``done`` turns true, and ``overflow`` is known, as soon as the last batch
    has been read from the database, before it is yielded: a caller holding
    the first batch can tell whether it is the whole result."""

    def __init__(
        self,
        engine: Engine,
        adql: str,
        translation: Translation,
        maxrec: int,
        timeout_s: float,
        batch_rows: int,
    ):
        self.engine, self.adql = engine, adql
        self.columns: list[OutputColumn] = translation.columns
        self.sql = translation.sql
        self.maxrec, self.timeout_s, self.batch_rows = maxrec, timeout_s, batch_rows
        self.done = False
        self.overflow = False

    def batches(self) -> Iterator[list[tuple]]:
        """At most ``maxrec`` rows in batches of at most ``batch_rows``; raises
        :class:`AdqlError` (kind and position, no database text) or
        :class:`QueryTimeout`. Closing the generator releases the connection."""
        read = 0
        for fetch in _cursor(self.engine, self.sql, self.timeout_s, self.adql):
            while not self.done:
                want = min(self.batch_rows, self.maxrec + 1 - read)
                rows = fetch(want)
                read += len(rows)
                if read > self.maxrec:  # the LIMIT's extra row: OVERFLOW
                    self.done = self.overflow = True
                    rows = rows[: len(rows) - (read - self.maxrec)]
                elif len(rows) < want:
                    self.done = True
                if rows or self.done:
                    yield rows

    def read_all(self) -> QueryResult:
        rows = [row for batch in self.batches() for row in batch]
        return QueryResult(self.columns, rows, self.overflow, self.maxrec, self.sql)


def dialect_of(engine: Engine) -> str:
    return "postgresql" if engine.dialect.name == "postgresql" else "sqlite"


def stream_query(
    engine: Engine,
    adql: str,
    ctx: Any,
    *,
    maxrec: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    uploads: list[TableDef] | None = None,
    batch_rows: int | None = None,
) -> QueryStream:
    """Translate ``adql`` (raising :class:`AdqlError` for bad queries) and
    return the stream that runs it when read."""
    dialect = dialect_of(engine)
    tr: Translation = translate(adql, dialect, ctx, maxrec=maxrec, uploads=uploads)
    return QueryStream(engine, adql, tr, maxrec, timeout_s, batch_rows or BATCH_ROWS)


def run_query(
    engine: Engine,
    adql: str,
    ctx: Any,
    *,
    maxrec: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    uploads: list[TableDef] | None = None,
) -> QueryResult:
    """Translate and run ``adql``, the whole result in memory (for the small
    answers of SCS/SIA/SSA and stored job results)."""
    stream = stream_query(engine, adql, ctx, maxrec=maxrec, timeout_s=timeout_s, uploads=uploads)
    return stream.read_all()


def _execute(engine: Engine, dialect: str, sql: str, timeout_s: float) -> list[tuple]:
    """All rows of translated ``sql`` (for the benchmarks' baselines)."""
    rows: list[tuple] = []
    for fetch in _cursor(engine, sql, timeout_s, ""):
        while batch := fetch(BATCH_ROWS):
            rows += batch
    return rows


def _cursor(engine: Engine, sql: str, timeout_s: float, adql: str):
    """Yields once a ``fetch(n)`` reading the next ``n`` rows of ``sql``, with
    the connection set up for a read-only query and restored after."""
    budget = _Budget(timeout_s)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if dialect_of(engine) == "postgresql":
            yield from _postgresql(conn, raw, sql, budget, adql)
        else:
            yield from _sqlite(raw, sql, budget, adql)


def _timeout(timeout_s: float) -> QueryTimeout:
    return QueryTimeout(f"query exceeded the {timeout_s:g} s time limit")


def _postgresql(conn, raw, sql: str, budget: _Budget, adql: str):
    import psycopg

    timeout_s = budget.timeout_s

    def fetch(n: int) -> list[tuple]:
        # statement_timeout bounds each FETCH; the budget bounds them all.
        if budget.exceeded():
            raise _timeout(timeout_s)
        try:
            with budget:
                return cur.fetchmany(n)
        except psycopg.errors.QueryCanceled:
            raise _timeout(timeout_s) from None
        except psycopg.Error as exc:
            raise AdqlError(user_message(exc, adql)) from None

    try:
        with raw.cursor() as setup:
            setup.execute("SET TRANSACTION READ ONLY")
            query_role.set_local(setup, conn.engine)  # a role that may only SELECT
            setup.execute(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
            setup.execute("SET LOCAL jit = off")
            setup.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cur = raw.cursor(name="tap_result")
        try:
            try:
                with budget:
                    cur.execute(sql)
            except psycopg.errors.QueryCanceled:
                raise _timeout(timeout_s) from None
            except psycopg.Error as exc:
                raise AdqlError(user_message(exc, adql)) from None
            yield fetch
        finally:
            with contextlib.suppress(psycopg.Error):  # a failed transaction: rolled back below
                cur.close()
    finally:
        conn.rollback()


def _sqlite(raw, sql: str, budget: _Budget, adql: str):
    import sqlite3

    timeout_s = budget.timeout_s

    def fetch(n: int) -> list[tuple]:
        try:
            with budget:
                return cur.fetchmany(n)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise _timeout(timeout_s) from None
            raise AdqlError(user_message(exc, adql)) from None
        except sqlite3.Error as exc:
            raise AdqlError(user_message(exc, adql)) from None

    geometry.register_sqlite(raw)
    # Every 200,000 VM steps (about a millisecond): often enough for the deadline,
    # rare enough that heavy queries do not keep taking the GIL from light ones.
    raw.set_progress_handler(lambda: int(budget.exceeded()), 200_000)
    cur = raw.cursor()
    try:
        cur.execute("PRAGMA query_only = ON")
        try:
            with budget:
                cur.execute(sql)
        except sqlite3.Error as exc:
            if "interrupted" in str(exc):
                raise _timeout(timeout_s) from None
            raise AdqlError(user_message(exc, adql)) from None
        yield fetch
    finally:
        cur.close()
        raw.set_progress_handler(None, 0)
        raw.execute("PRAGMA query_only = OFF")
