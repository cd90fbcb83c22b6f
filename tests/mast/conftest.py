"""A live uvicorn server on 127.0.0.1 over the test archive, once per backend,
and astroquery pointed at it through ``[mast] server`` in XDG_CONFIG_HOME,
written here at collection time, before any test module imports astroquery
(astroquery freezes its URLs at import)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REAL
from tests.live_server import free_port, uvicorn_process
from tests.mast import archive

PORT = free_port()
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
    with uvicorn_process({"WEBBARCHIVE_DB": mast_archive.url}, port=PORT):
        yield mast_archive


@pytest.fixture()
def observations(live_server):
    """astroquery's Observations, logged out, with MAST's default pagesize."""
    from astroquery.mast import Observations

    Observations.logout()
    yield Observations
    Observations.logout()
