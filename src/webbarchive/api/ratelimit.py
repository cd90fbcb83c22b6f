"""Rate limits on expensive endpoints: a token bucket per client, answered 429.

A client is its identity (:mod:`webbarchive.api.identity`): the user behind the
token when the request carries one the archive issued (so the many tokens of
one user share one bucket), else its address. Each rule (pixel search, spectra
retrieve, download bundles, single-file downloads, Mashup, TAP sync, TAP job
creation, TAP uploads, SCS/SIA/SSA, the DJA tools, MastMissions) has its own
bucket per client: ``capacity`` requests at once, refilled at
``capacity / period_s`` per second. An empty bucket is answered ``429`` with
``Retry-After`` (whole seconds) and a body saying which limit was hit: JSON,
or an ERROR VOTable on the VO services. Rules with no path (``tap_upload``:
an UPLOAD may travel in a form body) are spent by the route, with
:func:`enforce`.

The server keeps its buckets in the catalog (:mod:`webbarchive.catalog.rate_buckets`:
one atomic statement per limited request), so its API workers share them and
N workers enforce the limit one does. Should that statement fail (SQLite busy
past ``SQLITE_WAIT_S`` behind a long write, the database unreachable), the
request is counted in this process's own buckets instead: limits loosen to
per worker for that moment, requests are never refused for it.

Configuration: ``WEBBARCHIVE_RATE_LIMITS="pixel_search=30/60,download=off"``
(``name=capacity/period_seconds`` or ``name=off``, comma-separated) overrides
the defaults of :data:`DEFAULT_RULES`; ``WEBBARCHIVE_RATE_LIMITS=off`` turns
every limit off.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from webbarchive.api.errors import Refused
from webbarchive.api.identity import Identities
from webbarchive.api.setting_overrides import apply_overrides

ENV = "WEBBARCHIVE_RATE_LIMITS"
#: Seconds a bucket update waits for SQLite's write lock before this request is
#: counted in process memory instead (an ingest may hold the lock for longer).
SQLITE_WAIT_S = 0.5
#: Shared buckets idle past the longest rule period are deleted every so many takes.
PRUNE_EVERY = 5000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """``capacity`` requests per ``period_s`` seconds on paths starting with
    one of ``prefixes`` (the bucket refills continuously)."""

    name: str
    prefixes: tuple[str, ...]
    capacity: int
    period_s: float
    methods: tuple[str, ...] = ("GET", "POST", "HEAD")
    #: The path must be one of ``prefixes`` exactly (a trailing "/" aside), so
    #: ``POST /tap/async`` (creating a job) is not ``POST /tap/async/<id>/phase``.
    exact: bool = False

    def matches(self, method: str, path: str) -> bool:
        if method not in self.methods or not self.prefixes:
            return False
        if self.exact:
            return (path.rstrip("/") or "/") in self.prefixes
        return path.startswith(self.prefixes)

    @property
    def refill_per_s(self) -> float:
        return self.capacity / self.period_s


DEFAULT_RULES: tuple[Rule, ...] = (
    # Pixel search scans the spectra database: the most expensive request.
    Rule("pixel_search", ("/spectra/api/v0.1/search", "/viz/api/v0.1/search"), 30, 60.0),
    # retrieve reads whole products (s3d cubes are hundreds of MB).
    Rule("retrieve", ("/spectra/api/v0.1/retrieve",), 120, 60.0),
    Rule("bundle", ("/api/v0.1/Download/bundle", "/jwst/api/v0.1/Download/bundle"), 10, 60.0),
    # astroquery downloads file by file (HEAD then GET): generous, but bounded.
    Rule("download", ("/api/v0.1/Download/file", "/jwst/api/v0.1/Download/file"), 600, 60.0),
    # astroquery re-posts EXECUTING Mashup requests as a long-poll.
    Rule("mashup", ("/api/v0/invoke",), 600, 60.0),
    # ADQL may ask for anything: the heavy-query bound caps what runs at once,
    # this caps how often a client may ask.
    Rule("tap_sync", ("/tap/sync",), 60, 60.0),
    Rule("tap_async", ("/tap/async",), 30, 60.0, methods=("POST",), exact=True),
    Rule("tap_upload", (), 10, 60.0),  # spent by the TAP routes (enforce)
    Rule("scs_sia_ssa", ("/scs", "/sia/query", "/ssa"), 300, 60.0, exact=True),
    Rule(
        "dja",
        ("/assoc", "/exposures", "/thumb", "/nirspec_", "/mosfire", "/msaexp-nirspec/"),
        300,
        60.0,
    ),
    Rule("missions", ("/search/jwst/api/", "/search/util/api/"), 300, 60.0),
)


def rules_from_env(
    value: str | None = None, defaults: tuple[Rule, ...] = DEFAULT_RULES
) -> tuple[Rule, ...]:
    """The rules after applying ``WEBBARCHIVE_RATE_LIMITS`` (see module doc)."""
    if value is None:
        from webbarchive.config import current

        value = current().rate_limits
    return apply_overrides(ENV, value, defaults, "limit", _retuned)


def _retuned(rule: Rule, spec: str) -> Rule:
    try:
        capacity, period = spec.split("/")
        rule = replace(rule, capacity=int(capacity), period_s=float(period))
    except ValueError:
        raise ValueError("is not name=capacity/period_seconds (e.g. pixel_search=30/60)") from None
    if rule.capacity < 1 or rule.period_s <= 0:
        raise ValueError("needs capacity >= 1 and period > 0")
    return rule


class RateLimiter:
    """Token buckets per (rule, client): in the catalog behind ``engine``
    (shared by every worker), else in process memory. ``clock`` returns seconds
    (the epoch's when shared); tests inject their own."""

    def __init__(
        self,
        rules: tuple[Rule, ...],
        clock: Callable[[], float] = time.monotonic,
        engine: Engine | None = None,
    ) -> None:
        self.rules = rules
        self.clock = clock
        self.engine = _bucket_engine(engine) if engine is not None else None
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._takes = 0

    def rule_for(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(method, path):
                return rule
        return None

    def named(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    def take(self, rule: Rule, client: str) -> float:
        """Spend one request of ``client`` under ``rule``: 0.0 when allowed,
        else the seconds until the next request would be. Blocking (a catalog
        statement): coroutines call it in a thread."""
        if self.engine is not None:
            try:
                return self._take_shared(rule, client)
            except SQLAlchemyError as exc:
                log.warning("rate limit %s counted in this worker only: %s", rule.name, exc)
        return self._take_local(rule, client)

    def _take_shared(self, rule: Rule, client: str) -> float:
        from webbarchive.catalog import rate_buckets

        now = self.clock()
        with self.engine.begin() as conn:
            granted, level = rate_buckets.take(
                conn, rule.name, client, rule.capacity, rule.refill_per_s, now
            )
            self._takes += 1
            if self._takes % PRUNE_EVERY == 0:
                rate_buckets.forget_full(conn, now, max(r.period_s for r in self.rules))
        return 0.0 if granted else (1.0 - level) / rule.refill_per_s

    def _take_local(self, rule: Rule, client: str) -> float:
        now = self.clock()
        key = (rule.name, client)
        with self._lock:
            level, then = self._buckets.get(key, (float(rule.capacity), now))
            level = min(float(rule.capacity), level + (now - then) * rule.refill_per_s)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            if len(self._buckets) > 100_000:  # forget idle clients (they are full anyway)
                self._forget_full(now)
            return (1.0 - level) / rule.refill_per_s

    def _forget_full(self, now: float) -> None:
        by_name = {rule.name: rule for rule in self.rules}
        for key, (level, then) in list(self._buckets.items()):
            rule = by_name.get(key[0])
            if rule is None or level + (now - then) * rule.refill_per_s >= rule.capacity:
                del self._buckets[key]


def _bucket_engine(engine: Engine) -> Engine:
    """The engine bucket updates go through: the catalog's own on PostgreSQL
    (row locks: only one client's concurrent requests wait on each other); on
    SQLite a small engine of its own whose busy timeout is short, since one
    writer at a time holds the whole file."""
    if engine.dialect.name != "sqlite":
        return engine
    own = create_engine(
        engine.url, connect_args={"check_same_thread": False, "timeout": SQLITE_WAIT_S}
    )

    @event.listens_for(own, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_WAIT_S * 1000)}")
        cursor.close()

    return own


def _refusal(rule: Rule, wait_s: float) -> Refused:
    retry_after = max(1, math.ceil(wait_s))
    return Refused(
        429,
        f"too many {rule.name} requests: the limit is {rule.capacity} per "
        f"{rule.period_s:g} s per user (or per address without a token); "
        f"retry after {retry_after} s",
        retry_after,
    )


def enforce(request, name: str) -> None:
    """Spend one request of the rule ``name`` for this request's client; raise
    :class:`~webbarchive.api.errors.Refused` (429) when its bucket is empty. For
    limits a path cannot express (``tap_upload``); no-op when the rule is off."""
    from webbarchive.api.identity import identity

    limiter = getattr(request.app.state, "rate_limiter", None)
    rule = limiter.named(name) if limiter is not None else None
    if rule is None:
        return
    wait = limiter.take(rule, identity(request))
    if wait > 0.0:
        raise _refusal(rule, wait)


class RateLimitMiddleware:
    """ASGI middleware applying ``app.state.rate_limiter`` (None: no limits).
    Pure ASGI so streamed downloads pass through untouched."""

    def __init__(self, app, fastapi_app) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope, receive, send) -> None:
        limiter = getattr(self.fastapi_app.state, "rate_limiter", None)
        if scope["type"] != "http" or limiter is None:
            await self.app(scope, receive, send)
            return
        rule = limiter.rule_for(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        identities = self.fastapi_app.state.identities
        wait = await asyncio.to_thread(_take_for, limiter, rule, identities, scope)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        refused = _refusal(rule, wait)
        body, media_type = refused.render(scope["path"])
        await send(
            {
                "type": "http.response.start",
                "status": refused.status_code,
                "headers": [
                    (b"content-type", media_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", refused.headers["Retry-After"].encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _take_for(limiter: RateLimiter, rule: Rule, identities: Identities, scope: dict) -> float:
    """Who the request is, then one take: one thread hop for both."""
    return limiter.take(rule, identities.of(scope))


def install(app, rules: tuple[Rule, ...] | None = None) -> None:
    """Add the middleware and a limiter configured from the environment, its
    buckets in the catalog (shared by the workers)."""
    if rules is None:
        rules = rules_from_env(app.state.settings.rate_limits)
    app.state.rate_limiter = RateLimiter(rules, clock=time.time, engine=app.state.engine)
    app.state.identities = Identities(app.state.engine)
    app.add_middleware(RateLimitMiddleware, fastapi_app=app)
