"""Fixtures shared by the whole suite.

- ``shared_dir``: ../shared beside the repository; tests that read real files
  or seed examples skip cleanly when it is absent.
- ``catalog_url``: a fresh, empty catalog on each backend (SQLite, and
  PostgreSQL with pgsphere in a throwaway cluster).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest

from tests import pgcluster

# The suite's many in-process clients share one address: rate limits are tested on
# their own (tests/auth/test_ratelimit.py) and off everywhere else.
os.environ.setdefault("WEBBARCHIVE_RATE_LIMITS", "off")
# PostgreSQL catalogs keep their telemetry store under $WEBBARCHIVE_TELEMETRY: a
# temporary folder for the whole session (live servers inherit it), not ~/.local.
os.environ.setdefault(
    "WEBBARCHIVE_TELEMETRY", tempfile.mkdtemp(prefix="webbarchive-test-telemetry-")
)

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WEBBARCHIVE_SHARED", REPO.parent / "shared"))
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture(scope="session")
def real_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "real"


@pytest.fixture(scope="session")
def pg_cluster():
    if not pgcluster.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 with pgsphere is not installed (make system)")
        pytest.skip("PostgreSQL 15 with pgsphere is not installed (make system)")
    cluster = pgcluster.Cluster().start()
    yield cluster
    cluster.stop()


_db_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path) -> str:
    """An empty catalog on each backend, as a URL for ``--db``."""
    if request.param == "sqlite":
        return str(tmp_path / "catalog.db")
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{next(_db_counter)}_{os.getpid()}")


# --- archives built once per session -------------------------------------------------

MOCK_SEED = 7


@pytest.fixture(scope="session")
def mock_dir(tmp_path_factory) -> Path:
    """A small mock archive (``webbarchive mock --scale small --seed 7``)."""
    from webbarchive.mock import generate

    out = tmp_path_factory.mktemp("mock")
    generate(out, seed=MOCK_SEED, scale="small", progress=False)
    return out


def _archive_paths(mock_dir: Path) -> list[str]:
    paths = [str(mock_dir)]
    if REAL.is_dir():
        paths.append(str(REAL))
    return paths


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def archive_url(request, mock_dir, tmp_path_factory) -> str:
    """The mock archive plus the real files of ../shared (when present), ingested
    once per backend. Read-only for tests: build your own catalog to mutate."""
    from webbarchive.ingest.runner import ingest_paths

    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("archive") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"archive_{os.getpid()}")
    ingest_paths(_archive_paths(mock_dir), db_url=url, workers=2, progress=False)
    return url


@pytest.fixture(scope="session")
def client(archive_url):
    """A TestClient on the real app over ``archive_url`` (runs on both backends)."""
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    with TestClient(create_app(Settings.from_env(db_url=archive_url))) as test_client:
        yield test_client
