"""FastAPI dependencies shared by every router: the catalog and the user.

Every router takes ``user: User = Depends(current_user)`` and passes it to the
catalog queries, which apply :mod:`webbarchive.catalog.rights`. That is the one
authorization layer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from webbarchive.catalog.rights import ANONYMOUS, DEFAULT_COMMUNITY_RIGHTS, CommunityRights, User

T = TypeVar("T")

#: Where a token may arrive (seed 004, astroquery's MastAuth): the cookie
#: astroquery sets, and the two Authorization schemes curl scripts and other
#: clients send.
TOKEN_COOKIE = "mast_token"
TOKEN_SCHEMES = ("token", "bearer")
ACCEPTED_TOKEN_FORMS = [
    "Authorization: token <token>",
    "Authorization: Bearer <token>",
    f"cookie {TOKEN_COOKIE}=<token>",
]


def catalog_of(request: Request) -> Engine:
    """The catalog engine of this app."""
    return request.app.state.engine


# The dependencies below are coroutines because FastAPI runs a plain ``def``
# dependency in its thread pool: a route with the catalog and the user as
# plain functions made three thread hops where one does (each hop a wait for
# a free thread and for the GIL behind the heavy threads; bench/load.py).


async def catalog(request: Request) -> Engine:
    """Dependency: :func:`catalog_of`."""
    return catalog_of(request)


_READERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def read_catalog(request: Request) -> Engine:
    """The catalog for a route that only reads, each statement on its own: on
    PostgreSQL in autocommit, so a connection taken from the pool sends no BEGIN
    before its reads and no ROLLBACK when given back (two of the six round trips
    of viz parameters; bench/load.py). SQLite: the catalog engine itself."""
    engine = request.app.state.engine
    if engine.dialect.name != "postgresql":
        return engine
    reader = _READERS.get(engine)
    if reader is None:
        reader = _READERS[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return reader


def community_rights_of(request: Request) -> CommunityRights:
    """Who reads the community collections (``WEBBARCHIVE_COMMUNITY_RIGHTS``)."""
    return getattr(request.app.state, "community_rights", DEFAULT_COMMUNITY_RIGHTS)


async def community_rights(request: Request) -> CommunityRights:
    """Dependency: :func:`community_rights_of`."""
    return community_rights_of(request)


def user_of(request: Request) -> User:
    """Who is asking: anonymous without a token, the token's user with a valid
    one; an invalid, revoked or expired token is answered 401 saying which.
    Blocking when the request carries a token (a catalog read)."""
    resolver = getattr(request.app.state, "resolve_user", None) or resolve_user
    return resolver(request)


async def current_user(request: Request) -> User:
    """Dependency: :func:`user_of`, on the event loop for a request without a
    token (nothing to look up), in a thread for one with a token."""
    resolver = getattr(request.app.state, "resolve_user", None) or resolve_user
    if resolver is not resolve_user:  # a test's own: may block
        return await run_in_threadpool(resolver, request)
    return await on_loop_without_token(request, resolve_user)


async def on_loop_without_token(request: Request, fn: Callable[[Request], T]) -> T:
    """``fn(request)`` (a token's resolution) on the event loop when the
    request carries no token, there being nothing to look up; in a thread when
    it carries one (a catalog read)."""
    if presented_token(request) is None:
        return fn(request)
    return await run_in_threadpool(fn, request)


def presented_token(request: Request) -> str | None:
    """The token the request carries, or None. A malformed Authorization
    header is a 401 that lists the accepted forms."""
    from webbarchive.api.errors import ApiError

    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() not in TOKEN_SCHEMES or not value:
            problem = (
                f"the Authorization header has scheme {scheme!r} but no token"
                if scheme.lower() in TOKEN_SCHEMES
                else f"unsupported Authorization scheme {scheme!r}"
            )
            raise ApiError(
                401,
                f"{problem}; send the token as one of the accepted forms",
                accepted=ACCEPTED_TOKEN_FORMS,
                headers={"WWW-Authenticate": 'Bearer realm="webbarchive"'},
            )
        return value
    cookie = request.cookies.get(TOKEN_COOKIE)
    return cookie.strip() if cookie and cookie.strip() else None


def token_session(request: Request):
    """``(session, rejection)`` for the request's token, each possibly None,
    resolved once per request. Used by ``/whoami``, which answers ``anon`` for
    a bad token instead of failing."""
    from webbarchive.catalog.accounts import TokenRejected, resolve_token

    cached = getattr(request.state, "token_session", None)
    if cached is not None:
        return cached
    token = presented_token(request)
    result = (None, None)
    if token is not None:
        try:
            result = (resolve_token(catalog_of(request), token, now_mjd=_clock(request)), None)
        except TokenRejected as rejected:
            result = (None, rejected)
    request.state.token_session = result
    return result


def _clock(request: Request) -> float | None:
    """The app's clock (MJD) when a test injected one, else None (wall clock)."""
    clock = getattr(request.app.state, "clock_mjd", None)
    return clock() if clock else None


def resolve_user(request: Request) -> User:
    """The token resolver installed on ``app.state.resolve_user``."""
    from webbarchive.api.errors import ApiError

    session, rejected = token_session(request)
    if rejected is not None:
        raise ApiError(
            401,
            rejected.message,
            accepted=ACCEPTED_TOKEN_FORMS,
            headers={
                "WWW-Authenticate": f'Bearer realm="webbarchive", error="invalid_token", '
                f'error_description="{rejected.reason}"'
            },
        )
    return session.user if session is not None else ANONYMOUS


def require_login(user: User, what: str = "this endpoint") -> None:
    """401 unless a user is logged in."""
    from webbarchive.api.errors import ApiError

    if user.anonymous:
        raise ApiError(
            401,
            f"{what} needs a logged-in user; send a token",
            accepted=ACCEPTED_TOKEN_FORMS,
            headers={"WWW-Authenticate": 'Bearer realm="webbarchive"'},
        )


def require_admin(user: User, what: str = "the admin API") -> None:
    """401 for anonymous, 403 for users who are not administrators."""
    from webbarchive.api.errors import ApiError

    require_login(user, what)
    if not user.admin:
        raise ApiError(403, f"{what} is for archive administrators; {user.name!r} is not one")


def install(app: FastAPI) -> None:
    """Install the token resolver, the rate limiter and the heavy-query bound on ``app``."""
    from webbarchive.api import heavy_queries, pools, ratelimit

    app.state.resolve_user = resolve_user
    pools.install(app)  # inside the rate limits: refused requests never queue
    ratelimit.install(app)
    heavy_queries.install(app)


def readable_product(engine: Engine, user: User, filename: str) -> dict:
    """The product row for ``filename``, after the authorization check of
    :func:`webbarchive.catalog.rights.check_named`: 404 when the file is
    unknown, 401/403 when ``user`` may not read it."""
    with engine.connect() as conn:
        return readable_product_on(conn, user, filename)


def readable_product_on(conn, user: User, filename: str) -> dict:
    """:func:`readable_product` on an open connection, for a route that reads
    more on the same one (on PostgreSQL each connection taken from the pool
    costs a ping and a rollback: two round trips)."""
    from webbarchive.catalog.queries import product_by_filename

    row = product_by_filename(conn, filename)
    authorize_product(user, row, filename)
    return row


def authorize_product(user: User, row: dict | None, filename: str) -> None:
    """The authorization of a request that names product ``filename`` (``row``:
    the product looked up without regard to rights, None when unknown): 404,
    401 or 403 by :func:`webbarchive.catalog.rights.check_named`."""
    from webbarchive.catalog.rights import check_named

    check_named(user, row, filename, f"no product named {filename!r} in this archive")
