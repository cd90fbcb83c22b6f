"""Rate-limit token buckets as catalog rows, shared by every API worker.

One row per (rule, client): the bucket's ``level`` (requests left, fractional)
at ``updated_s`` (seconds since the epoch). Spending a request is one
statement, ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, atomic on
SQLite (3.35+) and PostgreSQL alike: the row is refilled by the time elapsed
(``refill_per_s`` requests per second, never above ``capacity``) and, when at
least one request is there, decremented, all under the row's write lock. So N
worker processes enforce together the limit one process does.

The clock is the caller's (``now``): the workers of one host share it; hosts
that share a PostgreSQL catalog need synchronised clocks (NTP), which a
deployment has anyway for its TLS and its logs.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    PrimaryKeyConstraint,
    String,
    Table,
    case,
    delete,
    func,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webbarchive.catalog.schema import metadata

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("rule", String(40), nullable=False),
    Column("client", String(200), nullable=False),  # "user:<id>" or "address:<ip>"
    Column("level", Float, nullable=False),  # requests left at updated_s
    Column("updated_s", Float, nullable=False),  # seconds since the epoch
    Column("granted", Boolean, nullable=False),  # did the last take get a request
    PrimaryKeyConstraint("rule", "client"),
)


def take(
    conn: Connection, rule: str, client: str, capacity: int, refill_per_s: float, now: float
) -> tuple[bool, float]:
    """Spend one request of ``client`` under ``rule``: ``(granted, level)``,
    ``level`` being what the bucket holds afterwards (requests). The caller
    commits."""
    postgres = conn.dialect.name == "postgresql"
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)
    insert = pg_insert if postgres else sqlite_insert
    old = rate_buckets.c
    refilled = least(float(capacity), old.level + greatest(0.0, now - old.updated_s) * refill_per_s)
    statement = (
        insert(rate_buckets)
        .values(rule=rule, client=client, level=capacity - 1.0, updated_s=now, granted=True)
        .on_conflict_do_update(
            index_elements=["rule", "client"],
            # every right-hand side reads the row as it was before this statement
            set_={
                "granted": refilled >= 1.0,
                "level": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
                "updated_s": greatest(old.updated_s, now),
            },
        )
        .returning(old.granted, old.level)
    )
    granted, level = conn.execute(statement).one()
    return bool(granted), float(level)


def forget_full(conn: Connection, now: float, longest_period_s: float) -> int:
    """Delete the buckets idle for longer than the longest rule period (full
    again, so the same as no row); the number deleted. The caller commits."""
    stale = rate_buckets.c.updated_s < now - longest_period_s
    return conn.execute(delete(rate_buckets).where(stale)).rowcount
