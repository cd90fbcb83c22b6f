"""PostgreSQL in production shape: per-worker pool, ADQL statement timeout that
leaves the database idle, and ADQL run as a role that may only SELECT."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from webbarchive.api.app import create_app
from webbarchive.catalog import query_role
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings
from webbarchive.vo import execute
from webbarchive.vo.adql import AdqlError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SLOW_ADQL = (
    "SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
    "ivoa.obscore AS d, ivoa.obscore AS e"
)


def _busy(engine) -> list[str]:
    with engine.connect() as conn:
        return (
            conn.execute(
                text(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state <> 'idle' AND pid <> pg_backend_pid()"
                )
            )
            .scalars()
            .all()
        )


@pytest.mark.parametrize("archive_url", ["postgresql"], indirect=True)
def test_adql_past_the_limit_ends_in_error_votable_and_frees_the_database(archive_url):
    settings = Settings.from_env(db_url=archive_url, query_timeout_s=0.5, rate_limits="off")
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        answer = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": SLOW_ADQL})
        took = time.monotonic() - started
    assert answer.status_code in (400, 408)
    assert 'QUERY_STATUS" value="ERROR"' in answer.text
    assert "time limit" in answer.text
    assert took < 10.0
    engine = open_catalog(archive_url, create=False)
    deadline = time.monotonic() + 3.0
    while (busy := _busy(engine)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert busy == []  # the cancelled query is not left running
    engine.dispose()


@pytest.mark.parametrize("archive_url", ["postgresql"], indirect=True)
def test_adql_runs_as_a_role_that_may_only_select(archive_url):
    engine = open_catalog(archive_url, create=False)
    role = query_role.of(engine)
    assert role == query_role.DEFAULT_ROLE
    # The ADQL path runs as that role: the token digests are out of its reach ...
    with pytest.raises(AdqlError):
        execute._execute(engine, "postgresql", "SELECT token_hash FROM tokens", 5.0)
    # ... which the catalog's own role reads.
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM tokens")).scalar()
        before = conn.execute(text("SELECT count(*) FROM products")).scalar()
    assert execute._execute(engine, "postgresql", "SELECT count(*) FROM products", 5.0) == [
        (before,)
    ]
    # The role cannot write even in a read-write transaction (a second wall
    # behind the READ ONLY transaction ADQL runs in).
    for write in (
        "DELETE FROM products",
        "UPDATE products SET size = 0",
        "INSERT INTO users SELECT * FROM users",
        "CREATE TABLE planted (x int)",
    ):
        with engine.connect() as conn:
            conn.execute(text(f'SET LOCAL ROLE "{role}"'))
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(write))
            conn.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM products")).scalar() == before
    engine.dispose()


def test_pool_is_sized_per_worker_from_settings(pg_cluster):
    url = pg_cluster.create_database(f"pool_{int(time.time() * 1000) % 10**8}")
    app = create_app(Settings.from_env(db_url=url, db_pool_size=3, db_pool_overflow=2))
    assert app.state.engine.pool.size() == 3
    assert app.state.engine.pool._max_overflow == 2
    app.state.engine.dispose()
