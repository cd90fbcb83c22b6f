"""The archive served on a free loopback port, for tests that need a real HTTP server
(astroquery, pyvo, the jwst EDB client, browsers, several clients at once).

Two shapes: ``uvicorn_process`` runs ``uvicorn`` in a subprocess (its own GIL, its
own environment); ``uvicorn_thread`` runs an app object in a thread of this process
(fixtures that prepared the app in Python)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_process(
    env: dict[str, str], ready: str = "/openapi.json", port: int | None = None, wait: float = 60
) -> Iterator[str]:
    """``create_app`` under uvicorn in a subprocess with ``env`` over this process's
    environment (``WEBBARCHIVE_PUBLIC_URL`` is the server's own URL unless ``env`` says
    otherwise); yields the base URL once ``ready`` answers 200, stops it after."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "webbarchive.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "WEBBARCHIVE_PUBLIC_URL": base, **env},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                if httpx.get(base + ready, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the webbarchive server did not start (waited for {ready})")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def uvicorn_thread(app, **config) -> Iterator[str]:
    """``app`` under uvicorn in a daemon thread of this process; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
