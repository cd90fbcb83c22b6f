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
