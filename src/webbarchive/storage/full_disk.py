"""Recognising a full disk, whoever reports it: :func:`disk_full_cause`.

A full disk is not a fault of one file: a writer that meets it stops (its
transactions roll back, its temporary files are removed) and the command
says so in one line, instead of recording every following file as
unreadable. The same condition reaches us in several forms: ``OSError``
with ``ENOSPC`` or ``EDQUOT`` (Python, pyarrow), SQLite's ``SQLITE_FULL``
("database or disk is full") and PostgreSQL's SQLSTATE class 53 ("insufficient
resources": 53100 disk full), wrapped by SQLAlchemy.
"""

from __future__ import annotations

import errno
import sqlite3

_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"


def disk_full_cause(exc: BaseException) -> BaseException | None:
    """The full-disk error behind ``exc`` (itself, its cause or context, or the
    driver error SQLAlchemy wraps), or None when the disk was not full."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_full(current):
            return current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return None


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and (
        exc.errno in _ERRNOS or "No space left on device" in str(exc)  # pyarrow sets no errno
    ):
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == _SQLITE_FULL or "database or disk is full" in str(exc)
    return getattr(exc, "sqlstate", None) == _PG_DISK_FULL
