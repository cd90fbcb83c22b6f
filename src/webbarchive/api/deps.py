"""FastAPI dependencies shared by every router: the catalog and the user.

Every router takes ``user: User = Depends(current_user)`` and passes it to the
catalog queries, which apply :mod:`webbarchive.catalog.rights`. That is the one
authorization layer.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from webbarchive.catalog.rights import ANONYMOUS, User


def catalog(request: Request) -> Engine:
    """The catalog engine of this app."""
    return request.app.state.engine


def current_user(request: Request) -> User:
    """Who is asking. Anonymous until the accounts capability resolves tokens."""
    resolver = getattr(request.app.state, "resolve_user", None)
    return resolver(request) if resolver else ANONYMOUS


def authorize(user: User, proposal_id: str | None, release_mjd: float | None, what: str) -> None:
    """Raise 401 (anonymous) or 403 (no rights) unless ``user`` may read ``what``.

    ``release_mjd`` must be the *effective* release (program override applied),
    as :func:`webbarchive.catalog.queries.product_by_filename` returns it.
    """
    from webbarchive.api.errors import ApiError
    from webbarchive.catalog.rights import FORBIDDEN, NEEDS_LOGIN, decide

    verdict = decide(user, proposal_id, release_mjd)
    if verdict == NEEDS_LOGIN:
        raise ApiError(
            401,
            f"{what} is in its exclusive access period (program {proposal_id}); "
            "send a token as 'Authorization: token <token>', 'Authorization: Bearer <token>' "
            "or the cookie mast_token",
            headers={"WWW-Authenticate": 'Bearer realm="webbarchive"'},
        )
    if verdict == FORBIDDEN:
        raise ApiError(
            403,
            f"{what} is in its exclusive access period and {user.name!r} is neither the PI "
            f"of program {proposal_id} nor an authorized collaborator",
        )


def readable_product(engine: Engine, user: User, filename: str) -> dict:
    """The product row for ``filename``, after the authorization check: 404 when
    the file is unknown, 401/403 when ``user`` may not read it."""
    from webbarchive.api.errors import not_found
    from webbarchive.catalog.queries import product_by_filename

    with engine.connect() as conn:
        row = product_by_filename(conn, filename)
    if row is None:
        raise not_found(f"no product named {filename!r} in this archive")
    authorize(user, row["proposal_id"], row["release_mjd"], filename)
    return row
