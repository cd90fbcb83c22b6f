"""Rate-limit buckets live in the catalog: several workers share one budget."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from webbarchive.api.app import create_app
from webbarchive.api.ratelimit import RateLimiter, Rule
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rate_buckets import rate_buckets
from webbarchive.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOWNLOAD = "/api/v0.1/Download/file?uri=mast:JWST/product/none.fits"


def test_two_apps_on_one_catalog_share_the_budget(catalog_url):
    settings = Settings.from_env(db_url=catalog_url, rate_limits="download=3/60")
    first, second = create_app(settings), create_app(settings)  # two workers
    with TestClient(first) as a, TestClient(second) as b:
        statuses = [c.get(DOWNLOAD).status_code for c in (a, b, a, b, a, b)]
    # 3 requests per 60 s for the address, whichever worker answers
    assert [s == 429 for s in statuses] == [False, False, False, True, True, True]
    refused = statuses[3]
    assert refused == 429


def test_a_refusal_says_when_to_come_back_across_workers(catalog_url):
    settings = Settings.from_env(db_url=catalog_url, rate_limits="download=2/30")
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        a.get(DOWNLOAD), a.get(DOWNLOAD)
        refused = b.get(DOWNLOAD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 15  # one request back every 15 s


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_shared_bucket_refills_and_never_exceeds_capacity(catalog_url):
    engine = open_catalog(catalog_url)
    clock = Clock()
    rule = Rule("x", ("/x",), capacity=3, period_s=60.0)  # one back every 20 s
    one, two = RateLimiter((rule,), clock, engine), RateLimiter((rule,), clock, engine)
    assert [lim.take(rule, "a") for lim in (one, two, one)] == [0.0, 0.0, 0.0]
    assert two.take(rule, "a") == pytest.approx(20.0)
    assert one.take(rule, "b") == 0.0  # another client, another bucket
    clock.now += 10.0
    assert two.take(rule, "a") == pytest.approx(10.0)
    clock.now += 10.0
    assert one.take(rule, "a") == 0.0
    clock.now += 3600.0
    assert [two.take(rule, "a") for _ in range(4)][-1] > 0.0
    with engine.connect() as conn:
        rows = conn.execute(rate_buckets.select()).all()
    assert {(r.rule, r.client) for r in rows} == {("x", "a"), ("x", "b")}
    engine.dispose()


def test_concurrent_takes_from_threads_spend_exactly_the_capacity(catalog_url):
    """The single-statement update is atomic: 8 threads x 10 takes on a bucket
    of 25 grant exactly 25 (a read-then-write would grant more)."""
    from concurrent.futures import ThreadPoolExecutor

    engine = open_catalog(catalog_url)
    rule = Rule("x", ("/x",), capacity=25, period_s=1e9)  # no refill during the test
    limiters = [RateLimiter((rule,), time.time, engine) for _ in range(2)]
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda i: limiters[i % 2].take(rule, "c"), range(80)))
    assert sum(w == 0.0 for w in waits) == 25
    engine.dispose()


def test_one_take_is_one_statement(catalog_url):
    """A take costs one round trip to the catalog, whatever the backend: one
    upsert-and-read statement, not a read, then a write, then a read (the time it
    takes is measured in bench/pools.py, not asserted here)."""
    engine = open_catalog(catalog_url)
    rule = Rule("x", ("/x",), capacity=10**6, period_s=1.0)
    limiter = RateLimiter((rule,), time.time, engine)
    limiter.take(rule, "warm")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(limiter.engine, "before_cursor_execute", count)
    try:
        for i in range(20):
            limiter.take(rule, f"c{i}")
    finally:
        event.remove(limiter.engine, "before_cursor_execute", count)
    assert len(statements) == 20, statements[:4]
    engine.dispose()
