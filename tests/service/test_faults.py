"""Faults in real processes (issue 16, item 5), on both backends.

- ``webbarchive ingest`` killed (SIGKILL) at random moments, several times in a
  row, then run to its end: the catalog equals a clean ingest of the same files,
  the pixel store agrees with it (``webbarchive verify`` exits 0, no file the
  catalog does not list), nothing half-written is listed.
- A server killed while an async job runs: on its restart the job is ERROR,
  never left EXECUTING.
- A server killed during a download: the client resumes with ``Range`` from the
  restarted server and gets the file whole (its MD5 is the catalog's).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, select

from tests.live_server import free_port
from tests.security.test_ingest_faults import (
    REPO,
    _env,
    assert_nothing_half_written,
    assert_store_clean,
    snapshot,
    start_ingest,
)
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products

KILLS = 4
SLOW_ADQL = "SELECT COUNT(*) FROM " + ", ".join(f"TAP_SCHEMA.columns AS t{i}" for i in range(5))


@pytest.fixture(scope="module", autouse=True)
def pixels_env(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEBBARCHIVE_PIXELS", str(tmp_path_factory.mktemp("pg-pixels")))
        patch.setenv("WEBBARCHIVE_RESULTS", str(tmp_path_factory.mktemp("pg-results")))
        yield


@pytest.fixture(scope="module")
def few_files(mock_dir, tmp_path_factory) -> Path:
    """A dozen products of the mock archive: cubes and 1-D spectra (the pixel
    store) and images, so a kill lands within seconds of work."""
    out = tmp_path_factory.mktemp("few")
    chosen = sorted(mock_dir.glob("*_s3d.fits"))[:2] + sorted(mock_dir.glob("*_x1d.fits"))[:6]
    chosen += sorted(mock_dir.glob("*_cal.fits"))[:4]
    for path in chosen:
        shutil.copy(path, out / path.name)
    return out


def _verify(url: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "webbarchive", "verify", "--db", url]
    return subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)


def _has_tables(url: str) -> bool:
    engine = open_catalog(url, create=False)
    try:
        return inspect(engine).has_table("pixel_segments")
    finally:
        engine.dispose()


def test_ingest_killed_at_random_moments_then_rerun(catalog_url, few_files, tmp_path):
    from webbarchive.ingest.runner import ingest_paths

    clean = str(tmp_path / "clean.db")
    ingest_paths([str(few_files)], db_url=clean, workers=1, progress=False)
    truth = snapshot(clean)
    assert truth["products"] and truth["pixels"] > 0

    # How long a whole ingest takes here, in a process of its own: the kills land
    # within it (a fixed window would miss it on a faster or a busier machine).
    timing = time.monotonic()
    start_ingest(str(tmp_path / "timing.db"), few_files).wait(timeout=300)
    whole = time.monotonic() - timing

    rng = random.Random(16)
    started = time.monotonic()
    killed = 0
    for _ in range(KILLS):
        proc = start_ingest(catalog_url, few_files)
        time.sleep(rng.uniform(0.3, 0.9) * whole)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
        if _has_tables(catalog_url):  # a kill before the schema leaves nothing to check
            assert_nothing_half_written(catalog_url)
    assert killed >= 1, "no run was killed before it ended: lengthen the ingest"
    rerun = start_ingest(catalog_url, few_files, "--no-wait")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert snapshot(catalog_url) == truth  # nothing lost, nothing twice
    assert_store_clean(catalog_url)
    assert_nothing_half_written(catalog_url)
    verified = _verify(catalog_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    print(f"{KILLS} runs, {killed} killed, 0 mismatches, {time.monotonic() - started:.0f} s")


# --- a live server -----------------------------------------------------------------


class Server:
    """``webbarchive serve`` in a subprocess, killed with SIGKILL and restarted."""

    def __init__(self, url: str, **env: str) -> None:
        self.url, self.port, self.env = url, free_port(), env
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        cmd = [sys.executable, "-m", "webbarchive", "serve", "--db", self.url]
        cmd += ["--port", str(self.port)]
        env = {**_env(), "WEBBARCHIVE_RATE_LIMITS": "off", **self.env}
        self.log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/whoami", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("no server: " + Path(self.log.name).read_text()[-2000:])
            time.sleep(0.2)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def server(catalog_url):
    open_catalog(catalog_url).dispose()  # serve refuses a URL holding no catalog
    made: list[Server] = []

    def make(**env: str) -> Server:
        made.append(Server(catalog_url, **env))
        return made[-1]

    yield make
    for s in made:
        s.stop()


def _phase(base: str, location: str) -> str:
    answer = httpx.get(f"{base}{location}/phase", timeout=10)
    return answer.text.strip()


def test_server_killed_during_an_async_job_marks_it_error(server):
    live = server(WEBBARCHIVE_QUERY_TIMEOUT_S="300").start()
    created = httpx.post(
        f"{live.base}/tap/async",
        data={"LANG": "ADQL", "QUERY": SLOW_ADQL, "PHASE": "RUN"},
        timeout=10,
    )
    assert created.status_code == 303
    location = httpx.URL(created.headers["location"]).path
    deadline = time.monotonic() + 30
    while _phase(live.base, location) != "EXECUTING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    live.kill()
    live.start()  # the same catalog, a new process
    assert _phase(live.base, location) == "ERROR"
    job = httpx.get(f"{live.base}{location}", timeout=10).text
    assert "stopped before it ended" in job


def test_server_killed_during_a_download_then_range_resume(server, catalog_url, few_files):
    from webbarchive.ingest.runner import ingest_paths

    ingest_paths([str(few_files)], db_url=catalog_url, workers=1, progress=False)
    with open_catalog(catalog_url, create=False).connect() as conn:
        name, path, checksum = conn.execute(
            select(products.c.filename, products.c.path, products.c.checksum)
            .order_by(products.c.size.desc())
            .limit(1)
        ).one()
    size = Path(path).stat().st_size
    url = f"/api/v0.1/Download/file?uri=mast:JWST/product/{name}"
    live = server().start()
    received = bytearray()
    with httpx.stream("GET", live.base + url, timeout=10) as answer:
        assert answer.status_code == 200
        for chunk in answer.iter_bytes(64 * 1024):
            received += chunk
            if len(received) >= size // 3:
                live.kill()  # mid-transfer
                break
    assert 0 < len(received) < size
    live.start()
    resumed = httpx.get(live.base + url, headers={"Range": f"bytes={len(received)}-"}, timeout=30)
    assert resumed.status_code == 206
    assert resumed.headers["content-range"] == f"bytes {len(received)}-{size - 1}/{size}"
    whole = bytes(received) + resumed.content
    assert len(whole) == size
    assert hashlib.md5(whole).hexdigest() == checksum.removeprefix("md5:")
