"""``webbarchive serve --workers 2`` over a catalog whose products are in S3:
a real server (a subprocess on a free port) answers ranged downloads from
both worker processes, every answer byte for byte the file's.

Truths: the mock file's bytes on local disk, and which worker process holds
the server end of each answer's connection (``/proc/net/tcp`` and the
workers' ``/proc/<pid>/fd``), read while the connection is still open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.live_server import free_port
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products

SPAN = 4 * 1024 * 1024  # bytes per ranged request
SRC = Path(__file__).resolve().parents[2] / "src"

pytestmark = pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"resource_tracker" not in cmdline:
            found.append(int(entry))
    return sorted(found)


def _holder(server_port: int, client_port: int, workers: list[int]) -> int | None:
    """The worker whose socket is the server end of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for worker in workers:
        for fd in os.listdir(f"/proc/{worker}/fd"):
            try:
                if os.readlink(f"/proc/{worker}/fd/{fd}") == f"socket:[{inode}]":
                    return worker
            except OSError:
                continue
    return None


def _largest(storage_archives, storage_mock_dir) -> tuple[str, bytes]:
    with open_catalog(storage_archives["s3"]).connect() as conn:
        rows = conn.execute(select(products.c.filename, products.c.size)).all()
    public_x = [r for r in rows if r.filename.endswith(("_s3d.fits", "_drc_sci.fits"))]
    name = max(public_x, key=lambda r: (r.size, r.filename)).filename
    body = next(storage_mock_dir.rglob(name)).read_bytes()
    assert len(body) > 2 * SPAN, f"{name}: {len(body)} bytes"
    return name, body


@pytest.fixture
def server(storage_archives, storage_cache_dir):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    process = subprocess.Popen(
        [sys.executable, "-m", "webbarchive", "serve", "--db", storage_archives["s3"]]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            workers = _children(process.pid)
            try:
                if len(workers) == 2 and httpx.get(f"{base}/whoami").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start in 90 s"
            time.sleep(0.3)
        time.sleep(1.0)  # both workers past startup
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_both_workers_serve_ranged_downloads_from_s3(server, storage_archives, storage_mock_dir):
    base, pid = server
    port = int(base.rsplit(":", 1)[1])
    name, body = _largest(storage_archives, storage_mock_dir)
    workers = _children(pid)
    assert len(workers) == 2, workers
    starts = [i * 65_536 for i in range(8)]

    def fetch(start: int) -> tuple[int, bytes, int, int | None]:
        with httpx.Client(timeout=60) as client:  # a new connection each time
            answer = client.get(
                f"{base}/api/v0.1/Download/file",
                params={"uri": f"mast:JWST/product/{name}"},
                headers={"Range": f"bytes={start}-{start + SPAN - 1}"},
            )
            # still open (keep-alive): which worker holds its other end
            client_port = answer.extensions["network_stream"].get_extra_info("client_addr")[1]
            holder = _holder(port, client_port, workers)
        return start, answer.content, answer.status_code, holder

    served: dict[int, int] = dict.fromkeys(workers, 0)
    for _round in range(6):  # until each worker has answered (the kernel picks one)
        with ThreadPoolExecutor(8) as pool:
            for start, content, status, holder in pool.map(fetch, starts):
                assert status == 206
                assert content == body[start : start + SPAN]
                assert holder in served, (holder, workers)
                served[holder] += 1
        if all(served.values()):
            break
    assert all(served.values()), served
