"""A live uvicorn server on 127.0.0.1 over the test archive, once per backend,
and astroquery pointed at it through ``[mast] server`` in XDG_CONFIG_HOME,
written here at collection time, before any test module imports astroquery
(astroquery freezes its URLs at import)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REAL
from tests.mast import archive

PORT = archive.free_port()
SERVER = f"http://127.0.0.1:{PORT}"
archive.write_astroquery_config(Path(tempfile.mkdtemp(prefix="astroquery-cfg-")), SERVER)
assert "astroquery.mast" not in sys.modules, "astroquery was imported before its config was written"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def mast_archive(request, tmp_path_factory) -> archive.Archive:
    root = tmp_path_factory.mktemp(f"mast-{request.param}")
    if request.param == "sqlite":
        url = str(root / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"mast_{os.getpid()}")
    return archive.build(url, root / "files", REAL)


@pytest.fixture(scope="session")
def live_server(mast_archive):
    """The server on PORT over ``mast_archive`` (one backend at a time)."""
    env = {**os.environ, "WEBBARCHIVE_DB": mast_archive.url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "webbarchive.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(PORT), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{SERVER}/openapi.json", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the webbarchive server did not start")
        time.sleep(0.2)
    yield mast_archive
    proc.terminate()
    proc.wait(10)


@pytest.fixture()
def observations(live_server):
    """astroquery's Observations, logged out, with MAST's default pagesize."""
    from astroquery.mast import Observations

    Observations.logout()
    yield Observations
    Observations.logout()
