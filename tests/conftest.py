"""Fixtures shared by the whole suite.

- ``shared_dir``: ../shared beside the repository; tests that read real files
  or seed examples skip cleanly when it is absent.
- ``catalog_url``: a fresh, empty catalog on each backend (SQLite, and
  PostgreSQL with pgsphere in a throwaway cluster).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from tests import pgcluster

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
            pytest.fail("PostgreSQL 15 with pgsphere is not installed (make postgres)")
        pytest.skip("PostgreSQL 15 with pgsphere is not installed (make postgres)")
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
