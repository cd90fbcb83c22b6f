"""One writer at a time per catalog: :func:`writer_lock`.

Ingest and the builds it runs (pixel store, DJA tables) assume they are the
only writer: they compare the catalog with the disk, then write what differs.
Two at once both see the same difference and both write it (duplicate rows,
Parquet segments nobody lists). So every writer holds this lock for its whole
run; a second one waits, printing who holds it, or refuses (``wait=False``).

- SQLite: ``flock`` on ``<catalog>.writer.lock`` beside the database file.
  The file records the holder (pid, host, start time) for the waiting side.
- PostgreSQL: a session advisory lock (:data:`PG_LOCK_KEY`) on a connection
  kept open for the run, named by its ``application_name`` so that waiters
  can read the holder in ``pg_stat_activity``. Advisory locks are scoped to
  one database, so catalogs in the same cluster do not block each other.

Both are released by the operating system or the server when the process
dies, however it dies: a killed ingest never leaves a stale lock. Forked
children (the ingest reader pool) must not keep the lock alive after the
parent dies, so the lock's file descriptors are replaced by ``/dev/null`` in
every child at fork.

The lock is re-entrant per thread: the pixel store and DJA builds take it
too, and inside an ingest that already holds it they just proceed.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, text

T = TypeVar("T")

#: Session advisory lock key of the catalog writer ("webbarch" as 8 ASCII bytes).
PG_LOCK_KEY = int.from_bytes(b"webbarch", "big")
#: Seconds between two attempts while waiting.
POLL_S = 0.5
#: Seconds between two progress lines while waiting (the first is printed at once).
REPORT_EVERY_S = 30.0
_APP_PREFIX = "webbarchive-writer"
_PG_NAME_BYTES = 63  # NAMEDATALEN - 1: longer application names are cut


@dataclass(frozen=True)
class Holder:
    """Who holds a catalog's writer lock: process id, host, start (unix seconds)."""

    pid: int | None
    host: str | None
    started_unix: float | None

    def __str__(self) -> str:
        if self.pid is None:
            return "another writer (holder unknown)"
        since = (
            datetime.fromtimestamp(self.started_unix, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if self.started_unix is not None
            else "an unknown time"
        )
        return f"pid {self.pid} on {self.host or 'an unknown host'} since {since}"


class WriterBusy(RuntimeError):
    """Another process is writing this catalog (raised when not waiting)."""

    def __init__(self, catalog: str, holder: Holder) -> None:
        self.catalog = catalog
        self.holder = holder
        super().__init__(
            f"catalog {catalog} is being written by {holder}; run again when it has "
            "finished, or without --no-wait to wait for it"
        )


def print_waiting(catalog: str, holder: Holder, waited_s: float) -> None:
    """The default progress line while waiting (stderr: stdout carries results)."""
    print(
        f"waiting for the catalog {catalog}: it is being written by {holder} "
        f"(waited {waited_s:.0f} s; --no-wait refuses instead)",
        file=sys.stderr,
        flush=True,
    )


# --- per-thread re-entrancy and fork safety ----------------------------------------

_held: dict[tuple[str, int], int] = {}  # (catalog key, thread id) -> depth
_held_guard = threading.Lock()
_inherited_fds: set[int] = set()  # descriptors that hold a lock in this process


def _drop_inherited_locks() -> None:
    """In a forked child: point the lock descriptors at /dev/null, so the child
    never keeps its parent's lock (or lock connection) alive."""
    if not _inherited_fds:
        return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _inherited_fds:
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)
    _inherited_fds.clear()
    _held.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


def _me() -> Holder:
    return Holder(os.getpid(), socket.gethostname(), time.time())


def catalog_key(engine: Engine) -> str:
    """A name of the catalog behind ``engine`` (its file, or host:port/database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(Path(url.database or "").resolve())
    return f"{url.host or 'local'}:{url.port or 5432}/{url.database}"


@contextmanager
def writer_lock(
    engine: Engine,
    *,
    wait: bool = True,
    on_wait: Callable[[str, Holder, float], None] | None = print_waiting,
) -> Iterator[None]:
    """Hold the writer lock of the catalog behind ``engine`` for the ``with`` body.

    ``wait=False`` raises :class:`WriterBusy` at once if another process holds
    it; otherwise ``on_wait(catalog, holder, waited_s)`` is called when waiting
    starts and every :data:`REPORT_EVERY_S` seconds after.
    """
    key = (catalog_key(engine), threading.get_ident())
    with _held_guard:
        depth = _held.get(key, 0)
        if depth:
            _held[key] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    if engine.url.get_backend_name() == "sqlite":
        if engine.url.database in (None, "", ":memory:"):  # private to this process
            yield
            return
        lock = _FileLock(engine)
    else:
        lock = _AdvisoryLock(engine)
    _acquire(lock, key[0], wait, on_wait)
    with _held_guard:
        _held[key] = 1
    try:
        yield
    finally:
        with _held_guard:
            _held.pop(key, None)
        lock.release()


def _acquire(lock, catalog: str, wait: bool, on_wait) -> None:
    started = time.monotonic()
    reported = None
    try:
        while not lock.try_acquire():
            holder = lock.holder()
            if not wait:
                raise WriterBusy(catalog, holder)
            waited = time.monotonic() - started
            if on_wait is not None and (reported is None or waited - reported >= REPORT_EVERY_S):
                on_wait(catalog, holder, waited)
                reported = waited
            time.sleep(POLL_S)
    except BaseException:  # refused, interrupted: let go of the file or connection
        lock.abandon()
        raise


class _FileLock:
    """``flock`` on ``<database>.writer.lock``; the file names the holder."""

    def __init__(self, engine: Engine) -> None:
        path = Path(engine.url.database or "").resolve()
        self.path = path.with_name(path.name + ".writer.lock")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        _inherited_fds.add(self.fd)
        me = _me()
        record = json.dumps({"pid": me.pid, "host": me.host, "started_unix": me.started_unix})
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, record.encode() + b"\n", 0)
        return True

    def holder(self) -> Holder:
        try:
            record = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):  # being rewritten by a new holder
            record = {}
        return Holder(record.get("pid"), record.get("host"), record.get("started_unix"))

    def abandon(self) -> None:
        os.close(self.fd)

    def release(self) -> None:
        _inherited_fds.discard(self.fd)
        os.ftruncate(self.fd, 0)  # the file stays: unlinking it would race a waiter
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class _AdvisoryLock:
    """A session advisory lock on a connection held (in autocommit) for the run."""

    def __init__(self, engine: Engine) -> None:
        self.conn: Connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def try_acquire(self) -> bool:
        got = self.conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": PG_LOCK_KEY}
        ).scalar_one()
        if not got:
            return False
        _inherited_fds.add(self.conn.connection.dbapi_connection.fileno())
        self.conn.execute(text("SELECT set_config('application_name', :name, false)"), {
            "name": _application_name(_me())
        })  # fmt: skip
        return True

    def holder(self) -> Holder:
        row = self.conn.execute(
            text(
                "SELECT a.application_name, a.pid, a.client_addr, "
                "extract(epoch FROM a.backend_start) FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND l.classid = :high AND l.objid = :low"
            ),
            {"high": PG_LOCK_KEY >> 32, "low": PG_LOCK_KEY & 0xFFFFFFFF},
        ).first()
        if row is None:
            return Holder(None, None, None)
        parsed = _parse_application_name(row[0] or "")
        if parsed is not None:
            return parsed
        # not one of ours (or its name was cut): the server's view of the session
        host = f"{row[2]} (PostgreSQL backend {row[1]})" if row[2] else f"backend {row[1]}"
        return Holder(None, host, float(row[3]) if row[3] is not None else None)

    def abandon(self) -> None:
        self.conn.close()

    def release(self) -> None:
        _inherited_fds.discard(self.conn.connection.dbapi_connection.fileno())
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
            self.conn.execute(text("RESET application_name"))
        finally:
            self.conn.close()


def _application_name(holder: Holder) -> str:
    """``webbarchive-writer <pid>@<host> <start unix s>``, the host cut to fit 63 bytes."""
    fixed = f"{_APP_PREFIX} {holder.pid}@ {int(holder.started_unix or 0)}"
    host = (holder.host or "").encode()[: _PG_NAME_BYTES - len(fixed)].decode(errors="ignore")
    return f"{_APP_PREFIX} {holder.pid}@{host} {int(holder.started_unix or 0)}"


def _parse_application_name(name: str) -> Holder | None:
    parts = name.split(" ")
    if len(parts) != 3 or parts[0] != _APP_PREFIX or "@" not in parts[1]:
        return None
    pid, host = parts[1].split("@", 1)
    try:
        return Holder(int(pid), host, float(parts[2]))
    except ValueError:
        return None


def holding_writer_lock(func: Callable[..., T]) -> Callable[..., T]:
    """Decorate a writer whose first argument is the catalog's engine so that it
    runs under :func:`writer_lock` (waiting; a no-op inside an ingest that holds it)."""

    @functools.wraps(func)
    def run(engine: Engine, *args, **kwargs) -> T:
        with writer_lock(engine):
            return func(engine, *args, **kwargs)

    return run
