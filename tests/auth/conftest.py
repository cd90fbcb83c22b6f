"""The EAP archive, built once per backend per session (tests must not change it)."""

from __future__ import annotations

import itertools
import os

import pytest

from tests.auth.eap import add_mock_program, build_eap_archive

_counter = itertools.count()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def eap_archive(request, tmp_path_factory):
    files = tmp_path_factory.mktemp("eap")
    if request.param == "sqlite":
        url = str(files / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(
            f"eap{next(_counter)}_{os.getpid()}"
        )
    archive = build_eap_archive(url, files / "files")
    add_mock_program(archive, request.getfixturevalue("mock_dir"))
    yield archive
    archive.engine.dispose()


@pytest.fixture(scope="module")
def eap_client(eap_archive):
    """The real app over the EAP archive, rate limits off (tested on their own)."""
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    app = create_app(Settings.from_env(db_url=eap_archive.url))
    app.state.rate_limiter = None
    # Server errors become 500 answers, reported per route, not an abort of the walk.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
