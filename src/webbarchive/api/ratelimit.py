"""Rate limits on expensive endpoints: a token bucket per client, answered 429.

A client is its token when it sends one (header or ``mast_token`` cookie,
keyed by the token's SHA-256 so no plaintext is kept), else its address. Each
rule (pixel search, spectra retrieve, download bundles, single-file
downloads, Mashup) has its own bucket per client: ``capacity`` requests at
once, refilled at ``capacity / period_s`` per second. An empty bucket is
answered ``429`` with ``Retry-After`` (whole seconds) and a JSON body saying
which limit was hit.

Buckets live in process memory: with several API workers each worker counts
on its own, so the effective limit is multiplied by the worker count. A
deployment with many workers would move the buckets to a shared store (Redis,
or a table in the catalog) behind :class:`RateLimiter`'s two methods.

Configuration: ``WEBBARCHIVE_RATE_LIMITS="pixel_search=30/60,download=off"``
(``name=capacity/period_seconds`` or ``name=off``, comma-separated) overrides
the defaults of :data:`DEFAULT_RULES`; ``WEBBARCHIVE_RATE_LIMITS=off`` turns
every limit off.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import orjson

from webbarchive.catalog.accounts import hash_token

ENV = "WEBBARCHIVE_RATE_LIMITS"


@dataclass(frozen=True)
class Rule:
    """``capacity`` requests per ``period_s`` seconds on paths starting with
    one of ``prefixes`` (the bucket refills continuously)."""

    name: str
    prefixes: tuple[str, ...]
    capacity: int
    period_s: float
    methods: tuple[str, ...] = ("GET", "POST", "HEAD")

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
)


def rules_from_env(
    value: str | None = None, defaults: tuple[Rule, ...] = DEFAULT_RULES
) -> tuple[Rule, ...]:
    """The rules after applying ``WEBBARCHIVE_RATE_LIMITS`` (see module doc)."""
    if value is None:
        from webbarchive.config import current

        value = current().rate_limits
    value = value.strip()
    if not value:
        return defaults
    if value.lower() == "off":
        return ()
    by_name = {rule.name: rule for rule in defaults}
    for item in value.split(","):
        name, _, spec = item.strip().partition("=")
        if name not in by_name:
            raise ValueError(f"{ENV}: unknown limit {name!r}; known: {', '.join(by_name)}")
        if spec.strip().lower() == "off":
            by_name.pop(name)
            continue
        try:
            capacity, period = spec.split("/")
            rule = replace(by_name[name], capacity=int(capacity), period_s=float(period))
        except ValueError:
            raise ValueError(
                f"{ENV}: {item!r} is not name=capacity/period_seconds (e.g. pixel_search=30/60)"
            ) from None
        if rule.capacity < 1 or rule.period_s <= 0:
            raise ValueError(f"{ENV}: {item!r} needs capacity >= 1 and period > 0")
        by_name[name] = rule
    return tuple(by_name[r.name] for r in defaults if r.name in by_name)


class RateLimiter:
    """Token buckets per (rule, client). ``clock`` returns seconds (monotonic);
    tests inject their own."""

    def __init__(
        self, rules: tuple[Rule, ...], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = rules
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def rule_for(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if method in rule.methods and path.startswith(rule.prefixes):
                return rule
        return None

    def take(self, rule: Rule, client: str) -> float:
        """Spend one request of ``client`` under ``rule``: 0.0 when allowed,
        else the seconds until the next request would be."""
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


def client_key(scope: dict) -> str:
    """The token's digest when the request carries one, else the address."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    auth = headers.get("authorization", "").strip()
    token = auth.partition(" ")[2].strip() if auth else ""
    if not token and "cookie" in headers:
        from http.cookies import SimpleCookie

        try:
            cookie = SimpleCookie(headers["cookie"]).get("mast_token")
        except Exception:  # a malformed cookie header: fall back to the address
            cookie = None
        token = cookie.value.strip() if cookie else ""
    if token:
        return "token:" + hash_token(token)
    client = scope.get("client")
    return "address:" + (client[0] if client else "unknown")


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
        wait = limiter.take(rule, client_key(scope))
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = orjson.dumps(
            {
                "status": "ERROR",
                "error": 429,
                "message": f"too many {rule.name} requests: the limit is {rule.capacity} per "
                f"{rule.period_s:g} s per token (or per address without one); "
                f"retry after {retry_after} s",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install(app, rules: tuple[Rule, ...] | None = None) -> None:
    """Add the middleware and a limiter configured from the environment."""
    if rules is None:
        rules = rules_from_env(app.state.settings.rate_limits)
    app.state.rate_limiter = RateLimiter(rules)
    app.add_middleware(RateLimitMiddleware, fastapi_app=app)
