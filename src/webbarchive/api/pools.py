"""Bounded capacity per class of heavy work, so light requests stay light.

Thumbnails (and the sky view's mosaic layers), pixel scans and downloads each
have a pool: ``size`` requests of the class run at once in a worker process,
``queue`` more wait (first come, first served) up to ``wait_s`` seconds, and
past that a request is answered ``503`` with ``Retry-After`` (JSON, or an
ERROR VOTable on VO paths) rather than queueing without end. Every other
request (viz parameters, Mashup, /whoami, the portal ...) belongs to no pool.

The routes run their blocking work in the server's thread pool (FastAPI runs
``def`` routes and sync iterators there; never on the event loop). That pool
is sized here to the pools' sizes plus ``metadata_threads``: since no class can
hold more threads than its size, ``metadata_threads`` threads always remain
for the light requests, whatever the heavy ones do.

A request holds its slot from admission until its response is sent, except in
a class that streams (downloads, ``body=False``): there the slot covers the
work before the first byte (catalog lookup, storage stat or HEAD) and is given
back when the response starts; the body's chunk reads then take one of the
class's own ``size`` threads each (:func:`stream`), never one of the shared
pool's. A client that reads slowly (a 1 GB file at 1 MB/s holds its response
for 17 min) so holds no slot and no thread between chunks: before this, 8
slow clients took the 8 download slots of a worker and every other download
waited ``wait_s`` and got 503.

Sizes and queues: one thumbnail and one pixel scan run at once per worker (the
deployment runs a worker per core, deploy/README.md: more heavy work at once
than cores only makes every thread, light ones included, wait for the CPU and
the GIL), and 64 requests of a class may wait. A waiting request costs a
coroutine, not a thread, and a queue of 8 refused 95 thumbnails with 503 in
20 s of 50 clients (bench/load.py) that a deeper queue served within
``wait_s``: refusals are for a server that truly cannot catch up.

Configuration: ``WEBBARCHIVE_POOLS="thumbnails=2/8,downloads=off"``
(``class=size/queue`` or ``class=off``) overrides :data:`DEFAULT_CLASSES`;
``WEBBARCHIVE_POOLS=off`` turns the pools off (the thread pool keeps anyio's
default of 40 threads: the state before pools, for benchmarks);
``WEBBARCHIVE_POOL_WAIT_S`` and ``WEBBARCHIVE_METADATA_THREADS`` (settings).
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import anyio
import anyio.to_thread

from webbarchive.api.errors import Refused
from webbarchive.api.setting_overrides import apply_overrides
from webbarchive.config import SettingError

ENV = "WEBBARCHIVE_POOLS"


@dataclass(frozen=True)
class PoolClass:
    """``size`` requests at once on paths starting with one of ``prefixes``
    (``exact``: the path is one of them), ``queue`` more waiting."""

    name: str
    prefixes: tuple[str, ...]
    size: int
    queue: int
    exact: bool = False
    #: whether the slot covers the response body (False: given back when it starts)
    body: bool = True

    def matches(self, path: str) -> bool:
        if self.exact:
            return (path.rstrip("/") or "/") in self.prefixes
        return path.startswith(self.prefixes)


DEFAULT_CLASSES: tuple[PoolClass, ...] = (
    PoolClass("thumbnails", ("/thumb", "/assoc_mosaic", "/portal/sky/mosaic.png"), 1, 64),
    PoolClass("pixel_scans", ("/spectra/api/v0.1/search", "/viz/api/v0.1/search"), 1, 64),
    # No class for TAP, SCS, SIA and SSA: which of their requests is heavy shows
    # only once the ADQL is planned, and a first-come queue in front of them would
    # make a light cone wait behind other users' cross joins (issue 12's guarantee;
    # tests/security/test_abuse.py). They are admitted by api/heavy_queries.py
    # (a share per user and for the server) and bounded by the statement timeout.
    PoolClass(
        "downloads",
        (
            "/api/v0.1/Download/",
            "/jwst/api/v0.1/Download/",
            "/spectra/api/v0.1/retrieve",
        ),
        8,
        64,
        body=False,
    ),
)


def classes_from_setting(value: str) -> tuple[PoolClass, ...]:
    """The classes after applying ``WEBBARCHIVE_POOLS`` (see module doc)."""
    return apply_overrides(ENV, value, DEFAULT_CLASSES, "class", _resized)


def _resized(kind: PoolClass, spec: str) -> PoolClass:
    try:
        size, queue = (int(n) for n in spec.split("/"))
    except ValueError:
        raise ValueError("is not class=size/queue (e.g. thumbnails=2/8)") from None
    if size < 1 or queue < 0:
        raise ValueError("needs size >= 1 and queue >= 0")
    return replace(kind, size=size, queue=queue)


class Pool:
    """The slots of one class in one process: thread-safe, and a waiter is
    woken on its own event loop (tests run apps on several loops)."""

    def __init__(self, kind: PoolClass, wait_s: float) -> None:
        self.kind = kind
        self.wait_s = wait_s
        self.running = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> bool:
        """Take a slot, waiting in the queue up to ``wait_s``; False when the
        queue is full or the wait ran out."""
        with self._lock:
            if self.running < self.kind.size and not self._waiters:
                self.running += 1
                return True
            if len(self._waiters) >= self.kind.queue:
                return False
            loop = asyncio.get_running_loop()
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter[1]), self.wait_s)
            return True
        except BaseException as exc:  # timed out, or the client went away
            with self._lock:
                handed = waiter not in self._waiters
                if not handed:
                    self._waiters.remove(waiter)
            if handed:  # release() gave us the slot as we gave up: keep or return it
                if isinstance(exc, TimeoutError):
                    return True
                self.release()
            if isinstance(exc, TimeoutError):
                return False
            raise

    def release(self) -> None:
        """Give the slot back, or straight to the first waiter."""
        with self._lock:
            if not self._waiters:
                self.running -= 1
                return
            loop, future = self._waiters.popleft()
        loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class Pools:
    """The app's pools (see module doc)."""

    def __init__(
        self, classes: tuple[PoolClass, ...], wait_s: float, metadata_threads: int
    ) -> None:
        self.pools = tuple(Pool(kind, wait_s) for kind in classes)
        # every class's route runs on the shared pool while it holds its slot
        self.threads = metadata_threads + sum(kind.size for kind in classes)
        # per event loop and class: the threads a streamed body's reads may take
        self._limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def body_limiter(self, name: str) -> anyio.CapacityLimiter | None:
        """The limiter of class ``name``'s body reads on this loop (None: no such class)."""
        kind = next((p.kind for p in self.pools if p.kind.name == name), None)
        if kind is None:
            return None
        per_loop = self._limiters.setdefault(asyncio.get_running_loop(), {})
        if name not in per_loop:
            per_loop[name] = anyio.CapacityLimiter(kind.size)
        return per_loop[name]

    def for_path(self, path: str) -> Pool | None:
        for pool in self.pools:
            if pool.kind.matches(path):
                return pool
        return None

    def refusal(self, pool: Pool) -> Refused:
        retry = max(1, math.ceil(pool.wait_s))
        return Refused(
            503,
            f"the server is busy with {pool.kind.name}: {pool.kind.size} run at once and "
            f"{pool.kind.queue} may wait; retry after {retry} s",
            retry,
        )


class PoolMiddleware:
    """ASGI middleware admitting each heavy request into its class's pool."""

    def __init__(self, app, pools: Pools) -> None:
        self.app = app
        self.pools = pools

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limiter = anyio.to_thread.current_default_thread_limiter()
        if limiter.total_tokens != self.pools.threads:
            limiter.total_tokens = self.pools.threads
        pool = self.pools.for_path(scope["path"])
        if pool is None:
            await self.app(scope, receive, send)
            return
        if not await pool.acquire():
            await _send_refusal(self.pools.refusal(pool), scope["path"], send)
            return
        held = True
        if not pool.kind.body:
            inner = send

            async def send(message) -> None:  # the slot is given back as the answer starts
                nonlocal held
                if held and message["type"] == "http.response.start":
                    held = False
                    pool.release()
                await inner(message)

        try:
            await self.app(scope, receive, send)
        finally:
            if held:
                pool.release()


_END = object()


async def stream(app, name: str, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` (a blocking iterator: file or object-store reads) as an async
    stream whose every read runs on class ``name``'s own threads (at most its
    size at once; the shared pool's when pools are off or the class is)."""
    pools = getattr(app.state, "pools", None)
    limiter = pools.body_limiter(name) if pools is not None else None
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, _END, limiter=limiter)
            if chunk is _END:
                return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def _send_refusal(refused: Refused, path: str, send) -> None:
    body, media_type = refused.render(path)
    await send(
        {
            "type": "http.response.start",
            "status": refused.status_code,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", refused.headers["Retry-After"].encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app) -> None:
    """Give ``app`` its pools from its settings (none when ``POOLS=off``), and
    set the interpreter's GIL switch interval (``GIL_SWITCH_MS``)."""
    settings = app.state.settings
    if not settings.gil_switch_ms > 0:
        raise SettingError(f"WEBBARCHIVE_GIL_SWITCH_MS must be > 0, not {settings.gil_switch_ms}")
    # Process-wide: light requests wait for the GIL between heavy threads' Python
    # steps; at Python's 5 ms, each of a request's several waits could cost that
    # much per busy thread (bench/load.py: viz p99 253 ms at 5 ms, 173 ms at 1 ms).
    sys.setswitchinterval(settings.gil_switch_ms / 1000)
    try:
        classes = classes_from_setting(settings.pools)
    except ValueError as exc:  # a bad value stops the start
        raise SettingError(str(exc)) from None
    if not classes:
        app.state.pools = None
        return
    app.state.pools = Pools(classes, settings.pool_wait_s, settings.metadata_threads)
    app.add_middleware(PoolMiddleware, pools=app.state.pools)
