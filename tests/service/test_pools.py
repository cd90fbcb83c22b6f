"""Heavy work in bounded pools per class: light requests keep their threads,
a full pool answers 503 with Retry-After instead of queueing without end."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading

import httpx
import pytest
from fastapi import Request
from fastapi.responses import StreamingResponse

from webbarchive.api import pools
from webbarchive.api.app import create_app
from webbarchive.config import Settings


def run_apart(coro):
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright keeps
    an event loop running in the main thread for the whole session."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


HEAVY = 45  # more than anyio's default thread pool (40 threads)


def _app(tmp_path, **settings):
    app = create_app(
        Settings.from_env(db_url=str(tmp_path / "c.db"), rate_limits="off", **settings)
    )
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow_thumbnail() -> dict:  # a blocking route in the thumbnails class
        started.release()
        release.wait(30)
        return {"ok": True}

    def metadata() -> dict:  # a blocking light route (as viz parameters are)
        return {"light": True}

    app.add_api_route("/thumb_test", slow_thumbnail)
    app.add_api_route("/light_test", metadata)
    return app, release, started


async def _storm(app, release: threading.Event):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        heavy = [asyncio.create_task(client.get("/thumb_test")) for _ in range(HEAVY)]
        await asyncio.sleep(0.5)  # the heavy requests have taken what they can
        try:
            light = await asyncio.wait_for(client.get("/light_test"), 3.0)
        except TimeoutError:
            light = None
        finally:
            release.set()
        return light, await asyncio.gather(*heavy)


def test_light_requests_keep_their_threads_and_a_full_pool_says_503(tmp_path):
    app, release, started = _app(tmp_path, pools="thumbnails=2/3", metadata_threads=4)
    light, heavy = run_apart(_storm(app, release))
    assert light is not None and light.json() == {"light": True}
    statuses = sorted(r.status_code for r in heavy)
    # 2 ran, 3 waited their turn, the other 40 were told to come back
    assert statuses.count(200) == 5 and statuses.count(503) == HEAVY - 5
    refused = next(r for r in heavy if r.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1
    assert "thumbnails" in refused.json()["message"]


def test_without_pools_heavy_requests_take_every_thread(tmp_path):
    """The state before pools (POOLS=off): the light request waits behind them."""
    app, release, _ = _app(tmp_path, pools="off")
    light, heavy = run_apart(_storm(app, release))
    assert light is None  # it found no thread within 3 s
    assert all(r.status_code == 200 for r in heavy)


def test_pool_hands_slots_in_order_and_times_out():
    kind = pools.PoolClass("x", ("/x",), size=1, queue=2)

    async def scenario():
        pool = pools.Pool(kind, wait_s=0.3)
        assert await pool.acquire()
        waiter = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        assert pool.waiting == 1
        pool.release()  # handed to the waiter, not returned
        assert await waiter and pool.running == 1
        assert not await pool.acquire()  # 0.3 s in the queue, then refused
        pool.release()
        assert pool.running == 0 and pool.waiting == 0

    run_apart(scenario())


def test_pools_setting():
    by_name = {c.name: c for c in pools.classes_from_setting("pixel_scans=8/4,downloads=off")}
    assert (by_name["pixel_scans"].size, by_name["pixel_scans"].queue) == (8, 4)
    assert "downloads" not in by_name and "thumbnails" in by_name
    assert pools.classes_from_setting("off") == ()
    with pytest.raises(ValueError, match="unknown class"):
        pools.classes_from_setting("everything=1/1")
    with pytest.raises(ValueError, match="size/queue"):
        pools.classes_from_setting("thumbnails=many")


def _serve(app):
    """``app`` on a real socket (uvicorn in a thread): a client that stops
    reading holds its response, as over a network."""
    import socket
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def test_a_slow_download_client_holds_no_download_slot(tmp_path):
    """Downloads give their slot back when the answer starts: one client that
    stopped reading a long body does not make the next download wait or 503."""
    import socket

    app = create_app(
        Settings.from_env(db_url=str(tmp_path / "c.db"), rate_limits="off", pools="downloads=1/0")
    )
    served = []

    def chunks():
        for _ in range(64):  # 64 MB: far more than the sockets' buffers
            served.append(1)
            yield b"x" * (1 << 20)

    def big(request: Request):  # a route in the downloads class, streamed as downloads are
        return StreamingResponse(pools.stream(request.app, "downloads", chunks()))

    app.add_api_route("/api/v0.1/Download/big_test", big)
    server, thread, base = _serve(app)
    try:
        host, port = base.removeprefix("http://").split(":")
        slow = socket.create_connection((host, int(port)))
        slow.sendall(
            f"GET /api/v0.1/Download/big_test HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        )
        head = slow.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head  # started, then reads no more
        second = httpx.get(f"{base}/api/v0.1/Download/big_test", timeout=30)
        assert second.status_code == 200, second.text
        assert len(second.content) == 64 << 20
        assert len(served) < 2 * 64  # the slow client's body is still unsent
        slow.close()
    finally:
        server.should_exit = True
        thread.join(10)


def test_gil_switch_interval_setting(tmp_path):
    """GIL_SWITCH_MS sets the interpreter's switch interval (Python's own is 5 ms);
    a value that is not positive stops the start, saying which setting."""
    from webbarchive.config import SettingError

    before = sys.getswitchinterval()
    try:
        _app(tmp_path, gil_switch_ms=2.0)
        assert sys.getswitchinterval() == pytest.approx(0.002)
        _app(tmp_path)
        assert sys.getswitchinterval() == pytest.approx(0.001)  # the default
        with pytest.raises(SettingError, match="GIL_SWITCH_MS"):
            _app(tmp_path, gil_switch_ms=0)
    finally:
        sys.setswitchinterval(before)
