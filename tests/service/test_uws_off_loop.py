"""The TAP routes never read the catalog on the event loop.

Every UWS route looks up the caller (their token, in the catalog) and the job
store (the catalog); a slow catalog must slow that request only, not every
request of the worker. The caller lookup is made slow here (a blocking sleep in
the app's token resolver) and, while one TAP request is in it, an event-loop
route of the same app (VOSI availability, which reads nothing) must answer at
once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import httpx
import pytest

from webbarchive.api.app import create_app
from webbarchive.api.deps import resolve_user
from webbarchive.config import Settings


def run_apart(coro):
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright keeps
    an event loop running in the main thread for the whole session."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


SLOW_S = 0.6  # the caller lookup's delay while slow
PROBE_MAX_S = 0.3  # the longest the loop may stall while a TAP request waits

ROUTES = [
    ("GET", "/tap/async", None),
    ("POST", "/tap/async", {"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"}),
    ("GET", "/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%201%20obs_id%20FROM%20ivoa.obscore", None),
    ("GET", "/tap/async/{job}", None),
    ("GET", "/tap/async/{job}/phase", None),
    ("GET", "/tap/async/{job}/parameters", None),
    ("GET", "/tap/async/{job}/executionduration", None),
    ("GET", "/tap/async/{job}/destruction", None),
    ("GET", "/tap/async/{job}/quote", None),
    ("GET", "/tap/async/{job}/owner", None),
    ("GET", "/tap/async/{job}/error", None),
    ("GET", "/tap/async/{job}/results", None),
    ("GET", "/tap/async/{job}/results/result", None),
    ("POST", "/tap/async/{job}/executionduration", {"EXECUTIONDURATION": "30"}),
    ("POST", "/tap/async/{job}/destruction", {"DESTRUCTION": "2100-01-01T00:00:00Z"}),
    ("POST", "/tap/async/{job}/parameters", {"MAXREC": "5"}),
    ("POST", "/tap/async/{job}/phase", {"PHASE": "ABORT"}),
    ("POST", "/tap/async/{job}", {"ACTION": "NOTHING"}),
    ("DELETE", "/tap/async/{job}", None),
    ("GET", "/scs?RA=10&DEC=10&SR=0.1", None),  # SCS, SIA, SSA share run_dal_query
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uws-loop")
    app = create_app(
        Settings.from_env(
            db_url=str(tmp / "c.db"),
            rate_limits="off",
            results_root=str(tmp / "results"),
            uws_max_active_jobs=1000,
            uws_max_jobs=1000,
        )
    )
    slow = threading.Event()

    def resolver(request):
        if slow.is_set():
            time.sleep(SLOW_S)  # a catalog that answers slowly, blocking as SQLAlchemy does
        return resolve_user(request)

    app.state.resolve_user = resolver
    app.state.slow = slow
    return app


async def _probe_while(app, method: str, path: str, data) -> tuple[int, float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def new_job() -> str:
            created = await client.post(
                "/tap/async",
                data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"},
            )
            assert created.status_code == 303, created.text
            return created.headers["location"].rsplit("/", 1)[1]

        # Once at full speed first: first-use costs (imports, caches) are not measured.
        await client.request(method, path.format(job=await new_job()), data=data)
        job = await new_job()
        app.state.slow.set()
        stop, gaps = asyncio.Event(), []

        async def ticker() -> None:  # how long the event loop goes without turning
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        try:
            await asyncio.sleep(0.05)
            answer = await client.request(method, path.format(job=job), data=data)
            probe = await client.get("/tap/availability")  # the loop still serves
        finally:
            app.state.slow.clear()
            stop.set()
            await ticking
        assert probe.status_code == 200
        assert answer.status_code < 500, answer.text
        took = max(gaps)
        return answer.status_code, took


@pytest.mark.parametrize(("method", "path", "data"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_tap_route_leaves_the_event_loop_free(app, method, path, data):
    _status, took = run_apart(_probe_while(app, method, path, data))
    assert took < PROBE_MAX_S, f"{method} {path} held the event loop for {took:.2f} s"
