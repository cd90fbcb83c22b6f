"""The portal over the EAP archive (tests/auth/eap.py), both backends: a
TestClient for the HTML and a live uvicorn server on a free port for Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.auth.conftest import eap_archive  # noqa: F401  (the fixture, both backends)
from tests.live_server import uvicorn_thread

CHROMIUM = Path("/usr/bin/chromium")


def _app(archive):
    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    # the sky view draws over a coordinate grid: tests do not reach the internet
    app = create_app(Settings.from_env(db_url=archive.url, portal_sky_survey=""))
    app.state.rate_limiter = None  # rate limits are tested on their own
    return app


@pytest.fixture(scope="module")
def portal_client(eap_archive):  # noqa: F811
    from fastapi.testclient import TestClient

    with TestClient(_app(eap_archive), raise_server_exceptions=True) as client:
        yield client


@pytest.fixture(scope="module")
def live_server(eap_archive):  # noqa: F811
    """The real app served by uvicorn on 127.0.0.1 (a thread of this process)."""

    with uvicorn_thread(_app(eap_archive)) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium, driven by Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run 'make system'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def mosaic_files(tmp_path_factory) -> Path:
    from tests.portal.mosaic_archive import write_files

    out = tmp_path_factory.mktemp("mosaic-files")
    write_files(out)
    return out


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def mosaic_archive(request, mosaic_files, tmp_path_factory):
    """tests/portal/mosaic_archive.py, both backends."""
    import os

    from tests.portal.mosaic_archive import build

    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("mosaic-archive") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"mosaics_{os.getpid()}")
    return build(url, mosaic_files)


@pytest.fixture(scope="module")
def mosaic_client(mosaic_archive):
    from fastapi.testclient import TestClient

    with TestClient(_app(mosaic_archive), raise_server_exceptions=True) as client:
        yield client


@pytest.fixture(scope="module")
def mosaic_server(mosaic_archive):
    with uvicorn_thread(_app(mosaic_archive)) as base:
        yield base
