"""The telemetry archive, once per backend per session, and a client on it."""

from __future__ import annotations

import itertools
import os

import pytest

from tests.telemetry import edb

_counter = itertools.count()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def edb_archive(request, tmp_path_factory) -> edb.EdbArchive:
    root = tmp_path_factory.mktemp(f"edb-{request.param}")
    if request.param == "sqlite":
        url = str(root / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(
            f"edb{next(_counter)}_{os.getpid()}"
        )
    return edb.build(url, root)


@pytest.fixture(scope="module")
def edb_client(edb_archive):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    app = create_app(Settings.from_env(db_url=edb_archive.url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
