"""Who a request counts as, for rate limits and the bound on heavy queries.

A logged-in caller counts as their user (the user behind the token, so the many
tokens of one user share one bucket and one share of the server); an anonymous
caller, and one whose token the archive never issued, counts as their client
address (random tokens must not buy fresh buckets). One home for this, used by
:mod:`webbarchive.api.ratelimit` (on the raw ASGI scope, before routing) and
:mod:`webbarchive.api.heavy_queries`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from http.cookies import CookieError, SimpleCookie

from sqlalchemy import Engine

from webbarchive.catalog.accounts import hash_token, user_id_of_token

#: Token digests remembered with their user (a token never changes user).
CACHE_SIZE = 10_000


def presented_token(scope: dict) -> str | None:
    """The token of an ASGI request (Authorization header or ``mast_token``
    cookie), without validating it."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    auth = headers.get("authorization", "").strip()
    token = auth.partition(" ")[2].strip() if auth else ""
    if not token and "cookie" in headers:
        try:
            cookie = SimpleCookie(headers["cookie"]).get("mast_token")
        except (CookieError, ValueError):  # a malformed cookie header: no token
            cookie = None
        token = cookie.value.strip() if cookie else ""
    return token or None


def client_address(scope: dict) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class Identities:
    """``of(scope)``: ``"user:<user_id>"`` or ``"address:<ip>"``."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._users: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, scope: dict) -> str:
        """The identity; may read the catalog (a token not seen before)."""
        token = presented_token(scope)
        user_id = self._user_id(hash_token(token)) if token else None
        if user_id is not None:
            return f"user:{user_id}"
        return "address:" + client_address(scope)

    def known(self, scope: dict) -> str | None:
        """The identity when it needs no catalog read (no token, or a token seen
        before), else None: the event loop must not wait for a database
        connection that heavy queries may all hold."""
        token = presented_token(scope)
        if not token:
            return "address:" + client_address(scope)
        with self._lock:
            user_id = self._users.get(hash_token(token))
        return None if user_id is None else f"user:{user_id}"

    def _user_id(self, digest: str) -> int | None:
        with self._lock:
            if digest in self._users:
                self._users.move_to_end(digest)
                return self._users[digest]
        if self.engine is None:
            return None
        user_id = user_id_of_token(self.engine, digest)
        if user_id is not None:
            with self._lock:
                self._users[digest] = user_id
                while len(self._users) > CACHE_SIZE:
                    self._users.popitem(last=False)
        return user_id


def identity(request) -> str:
    """The identity of a FastAPI request (see module doc)."""
    identities = getattr(request.app.state, "identities", None)
    if identities is None:
        identities = request.app.state.identities = Identities(request.app.state.engine)
    return identities.of(request.scope)
