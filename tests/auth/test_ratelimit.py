"""Rate limits: token buckets per token and per address, answered 429 + Retry-After."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from webbarchive.api import ratelimit
from webbarchive.api.app import create_app
from webbarchive.api.ratelimit import RateLimiter, Rule
from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOWNLOAD = "/api/v0.1/Download/file?uri=mast:JWST/product/none.fits"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_capacity_then_refills():
    clock = Clock()
    rule = Rule("x", ("/x",), capacity=3, period_s=60.0)  # one request back every 20 s
    limiter = RateLimiter((rule,), clock=clock)
    assert [limiter.take(rule, "a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(rule, "a") == pytest.approx(20.0)
    assert limiter.take(rule, "b") == 0.0  # another client has its own bucket
    clock.now += 10.0
    assert limiter.take(rule, "a") == pytest.approx(10.0)
    clock.now += 10.0
    assert limiter.take(rule, "a") == 0.0
    clock.now += 3600.0  # never more than capacity after a long rest
    assert [limiter.take(rule, "a") for _ in range(4)][-1] > 0.0


def test_rules_from_environment():
    rules = {r.name: r for r in ratelimit.rules_from_env("pixel_search=5/10,download=off")}
    assert rules["pixel_search"].capacity == 5 and rules["pixel_search"].period_s == 10.0
    assert "download" not in rules and "retrieve" in rules
    assert ratelimit.rules_from_env("off") == ()
    assert ratelimit.rules_from_env("") == ratelimit.DEFAULT_RULES
    with pytest.raises(ValueError, match="unknown limit"):
        ratelimit.rules_from_env("everything=1/1")
    with pytest.raises(ValueError, match="capacity/period"):
        ratelimit.rules_from_env("retrieve=fast")


@pytest.fixture
def limited(tmp_path):
    url = str(tmp_path / "catalog.db")
    engine = open_catalog(url)
    accounts.add_user(engine, "jdoe")
    tokens = [accounts.create_token(engine, "jdoe", n).token for n in ("a", "b")]
    app = create_app(Settings.from_env(db_url=url))
    clock = Clock()
    rules = (Rule("download", ("/api/v0.1/Download/file",), capacity=2, period_s=30.0),)
    app.state.rate_limiter = RateLimiter(rules, clock=clock)
    with TestClient(app) as client:
        yield client, tokens, clock
    engine.dispose()


def test_429_with_retry_after_per_address_and_per_token(limited):
    client, (token_a, token_b), clock = limited
    # Anonymous: the address (TestClient's "testclient") has two requests.
    assert client.get(DOWNLOAD).status_code != 429
    assert client.get(DOWNLOAD).status_code != 429
    refused = client.get(DOWNLOAD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "15"  # one request back every 15 s
    assert "download" in refused.json()["message"]
    # A user has their own bucket, whichever way and with whichever of their
    # tokens they send (tests/security/test_abuse.py: one bucket per user).
    header_a = {"Authorization": f"token {token_a}"}
    assert client.get(DOWNLOAD, headers=header_a).status_code != 429
    assert client.get(DOWNLOAD, headers={"Cookie": f"mast_token={token_a}"}).status_code != 429
    assert client.get(DOWNLOAD, headers={"Authorization": f"Bearer {token_a}"}).status_code == 429
    assert client.get(DOWNLOAD, headers={"Authorization": f"token {token_b}"}).status_code == 429
    # Other endpoints are not limited.
    assert client.get("/whoami").status_code == 200
    clock.now += 15.0
    assert client.get(DOWNLOAD).status_code != 429


def test_default_rules_cover_the_expensive_endpoints():
    limiter = RateLimiter(ratelimit.DEFAULT_RULES)
    for method, path, name in (
        ("GET", "/spectra/api/v0.1/search", "pixel_search"),
        ("GET", "/viz/api/v0.1/search", "pixel_search"),
        ("GET", "/spectra/api/v0.1/retrieve", "retrieve"),
        ("POST", "/api/v0.1/Download/bundle.sh", "bundle"),
        ("HEAD", "/jwst/api/v0.1/Download/file", "download"),
    ):
        assert limiter.rule_for(method, path).name == name
    assert limiter.rule_for("GET", "/viz/api/v0.1/parameters") is None
