"""A bound on heavy queries running at once: per client and in the whole server.

Heavy queries are those whose cost the caller chooses: ADQL (TAP sync and
async jobs), pixel search and Mashup queries. Without a bound, eight cross
joins filled the event loop's default thread pool (``min(32, cores + 4)``
threads) and every other query of every user waited behind them.

Mashup has a gate of its own (``MASHUP_QUERIES`` slots, the same share per
client): it is the metadata service astroquery's ``Observations`` calls, and
sharing slots with ADQL made a page of 50 observations wait behind other
users' cross joins (bench/load.py: Mashup p99 297 ms in the mixed load with
one gate, 183 ms with its own).

Each heavy query takes a slot: at most ``per_client`` for one identity (the
user behind the token, else the address: :mod:`webbarchive.api.identity`) and
``total`` in the server. A query that finds no slot waits up to ``wait_s``
seconds, then is refused with :class:`~webbarchive.api.errors.Refused`: 429
when its own client's share is used, 503 when the server's is, with
``Retry-After``. Queries started from a coroutine run on this gate's own
threads (``total`` of them), never on the shared default pool, so light
requests keep their threads whatever heavy ones do.

Slots live in process memory: one bound per API worker process, so a user may
run ``per_client`` x N heavy queries on N workers. Why it is not shared through
the catalog as the rate buckets are: see deploy/README.md ("Heavy work and
light requests").
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from webbarchive.api.errors import Refused

T = TypeVar("T")
#: How often a waiting coroutine looks for a free slot (seconds).
POLL_S = 0.02


class HeavyQueries:
    """Slots for heavy queries (see module doc); thread-safe, loop-agnostic."""

    def __init__(self, total: int, per_client: int, wait_s: float) -> None:
        if total < 1 or per_client < 1 or wait_s < 0:
            raise ValueError("heavy query limits need total >= 1, per_client >= 1, wait_s >= 0")
        self.total = total
        self.per_client = per_client
        self.wait_s = wait_s
        self._running: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._executor = ThreadPoolExecutor(max_workers=total, thread_name_prefix="heavy-query")

    def running(self, identity: str | None = None) -> int:
        with self._cond:
            return sum(self._running.values()) if identity is None else self._running[identity]

    def _try_take(self, identity: str) -> bool:
        if self._running[identity] >= self.per_client:
            return False
        if sum(self._running.values()) >= self.total:
            return False
        self._running[identity] += 1
        return True

    def _refusal(self, identity: str, wait_s: float) -> Refused:
        retry = max(1, math.ceil(max(wait_s, 1.0)))
        if self._running[identity] >= self.per_client:
            return Refused(
                429,
                f"too many heavy queries at once: {self.per_client} may run per user (or per "
                f"address without a token) and yours are running; retry after {retry} s",
                retry,
            )
        return Refused(
            503,
            f"the server is running its maximum of {self.total} heavy queries; "
            f"retry after {retry} s",
            retry,
        )

    def acquire(self, identity: str, wait_s: float | None = None) -> None:
        """Take a slot, waiting up to ``wait_s`` (default: the gate's) in this thread."""
        wait_s = self.wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        with self._cond:
            while not self._try_take(identity):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._refusal(identity, wait_s)
                self._cond.wait(left)

    async def acquire_async(self, identity: str) -> None:
        """Take a slot from a coroutine: polls, so no thread is held while waiting."""
        deadline = time.monotonic() + self.wait_s
        while True:
            with self._cond:
                if self._try_take(identity):
                    return
                if time.monotonic() >= deadline:
                    raise self._refusal(identity, self.wait_s)
            await asyncio.sleep(POLL_S)

    def release(self, identity: str) -> None:
        with self._cond:
            self._running[identity] -= 1
            if self._running[identity] <= 0:
                del self._running[identity]
            self._cond.notify_all()

    @contextmanager
    def slot(self, identity: str, wait_s: float | None = None) -> Iterator[None]:
        """A slot for the body of the ``with``, in a worker thread."""
        self.acquire(identity, wait_s)
        try:
            yield
        finally:
            self.release(identity)

    async def run(self, identity: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the gate's threads once a slot is free. The slot is
        given back when ``fn`` returns, not when the request ends: a client that
        hangs up does not free a slot its query still holds."""
        await self.acquire_async(identity)
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self.release(identity)
            raise
        future.add_done_callback(lambda _: self.release(identity))
        return await asyncio.wrap_future(future)


def install(app) -> None:
    """Give ``app`` its gates, from its settings."""
    settings = app.state.settings
    per_client, wait_s = settings.heavy_queries_per_client, settings.heavy_query_wait_s
    app.state.heavy_queries = HeavyQueries(settings.heavy_queries, per_client, wait_s)
    app.state.mashup_queries = HeavyQueries(settings.mashup_queries, per_client, wait_s)


def gate(app) -> HeavyQueries:
    """The app's gate of ADQL and pixel-search queries (installed by
    :func:`webbarchive.api.deps.install`)."""
    return app.state.heavy_queries


def mashup_gate(app) -> HeavyQueries:
    """The app's gate of Mashup queries."""
    return app.state.mashup_queries
