"""The EXECUTING long-poll: a Mashup query runs in a worker thread keyed by the
request (and the user); when it is not done within the wait, the reply is
``status: EXECUTING`` and astroquery re-posts the identical request, which
finds the same job. No connection is held open for a slow query."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

#: Unclaimed results are dropped after this long.
RESULT_TTL_SECONDS = 600.0


def job_key(user_name: str | None, body: str) -> str:
    return hashlib.sha256(f"{user_name or ''}\0{body}".encode()).hexdigest()


class Jobs:
    def __init__(self, workers: int = 4) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mashup")
        self._jobs: dict[str, tuple[Future, float]] = {}
        self._lock = threading.Lock()

    def _future(self, key: str, fn: Callable[[], Any]) -> Future:
        """The job of ``key``: the running one, else ``fn`` submitted now."""
        now = time.monotonic()
        with self._lock:
            for stale in [
                k for k, (f, t) in self._jobs.items() if f.done() and now - t > RESULT_TTL_SECONDS
            ]:
                del self._jobs[stale]
            if key not in self._jobs:
                self._jobs[key] = (self._executor.submit(fn), now)
            return self._jobs[key][0]

    def _claimed(self, key: str) -> None:
        with self._lock:
            self._jobs.pop(key, None)

    def run(self, key: str, fn: Callable[[], Any], wait_seconds: float) -> tuple[bool, Any]:
        """(True, result) when the job finished within ``wait_seconds``,
        (False, None) while it is still executing. Re-raises the job's error."""
        future = self._future(key, fn)
        try:
            result = future.result(timeout=max(0.0, wait_seconds))
        except FutureTimeout:
            return False, None
        except BaseException:
            self._claimed(key)
            raise
        self._claimed(key)
        return True, result

    async def run_async(
        self, key: str, fn: Callable[[], Any], wait_seconds: float
    ) -> tuple[bool, Any]:
        """:meth:`run` from a coroutine: the event loop waits, no thread is
        held for the wait (one thread hop per request: the job's)."""
        future = self._future(key, fn)
        waiter = asyncio.wrap_future(future)
        # a job still running at the timeout may fail later: its error is read
        # by the re-post that finds it, not logged as never retrieved here
        waiter.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            result = await asyncio.wait_for(asyncio.shield(waiter), max(0.0, wait_seconds))
        except (TimeoutError, FutureTimeout):
            return False, None
        except BaseException:
            if future.done():
                self._claimed(key)
            raise
        self._claimed(key)
        return True, result

    def pending(self) -> int:
        with self._lock:
            return sum(1 for f, _ in self._jobs.values() if not f.done())
