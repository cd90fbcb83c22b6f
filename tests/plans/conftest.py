"""A catalog of planned visits per backend: the small mock's plans plus random
visits clustered at RA 0/360 and the poles, loaded by ``webbarchive ingest-plans``."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from webbarchive.mock import plans as mock_plans
from webbarchive.mock.sky import plan

_counter = itertools.count()
RANDOM_VISITS = 2000
SEED = 7


@dataclass
class PlansArchive:
    url: str
    files: list[Path]


@pytest.fixture(scope="session")
def plan_files(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("plans")
    mock_file = mock_plans.write_all(plan("small"), out / "mock", SEED)
    random_file = out / "random.csv"
    random_file.write_text(mock_plans.render_csv(mock_plans.random_plans(RANDOM_VISITS, SEED)))
    return [mock_file, random_file]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def plans_archive(request, tmp_path_factory, plan_files) -> PlansArchive:
    from webbarchive.cli import main

    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("plans_db") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(
            f"plans{next(_counter)}_{os.getpid()}"
        )
    for path in plan_files:
        assert main(["ingest-plans", str(path), "--db", url]) == 0
    return PlansArchive(url, plan_files)


@pytest.fixture(scope="module")
def plans_client(plans_archive):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    app = create_app(Settings.from_env(db_url=plans_archive.url))
    app.state.rate_limiter = None
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def truth(plan_files):
    """The plan files' visits and their positions at their windows (astropy)."""
    from tests.plans.truth import truth_of

    return truth_of(plan_files)
