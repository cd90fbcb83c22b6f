"""Fixtures shared by the whole suite.

- ``real_dir``: the real JWST files (``../shared/data/real``, else the folder
  ``make test-data`` fills; see ``tests/real_files.py``). Tests that need them
  ask for this fixture, and skip saying how to get the files when they are absent.
- ``mast_doc_examples``, ``seeds_dir``: MAST's documented example responses and
  the project's seed documents, which come only with ``../shared``.
- ``catalog_url``: a fresh, empty catalog on each backend (SQLite, and
  PostgreSQL with pgsphere in a throwaway cluster).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest

from tests import pgcluster, real_files

# The suite's many in-process clients share one address: rate limits are tested on
# their own (tests/auth/test_ratelimit.py) and off everywhere else.
os.environ.setdefault("WEBBARCHIVE_RATE_LIMITS", "off")
# PostgreSQL catalogs keep their telemetry store under $WEBBARCHIVE_TELEMETRY: a
# temporary folder for the whole session (live servers inherit it), not ~/.local.
os.environ.setdefault(
    "WEBBARCHIVE_TELEMETRY", tempfile.mkdtemp(prefix="webbarchive-test-telemetry-")
)

#: The folder holding every real file, or None (then the suite runs on mock data).
REAL = real_files.real_dir()


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if REAL is None:
        pytest.skip(real_files.skip_reason())
    return REAL


@pytest.fixture(scope="session")
def mast_doc_examples() -> Path:
    """MAST's documented example responses (the JSON of seed 000)."""
    found = real_files.doc_examples_dir()
    if found is None:
        pytest.skip(real_files.doc_examples_skip_reason())
    return found


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The project's seed documents (its specification)."""
    seeds = real_files.SHARED / "seeds"
    if not seeds.is_dir():
        pytest.skip(
            f"needs the project's seed documents ({seeds}): they come only with "
            "../shared beside the repository (or WEBBARCHIVE_SHARED naming a copy)"
        )
    return seeds


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
    if REAL is not None:
        paths.append(str(REAL))
    return paths


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def archive_url(request, mock_dir, tmp_path_factory) -> str:
    """The mock archive plus the real files (when present), ingested
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
