"""Anti-forgery tokens for the portal's POST forms (double-submit cookie).

A page with a form sets a random token in the ``portal_csrf`` cookie
(HttpOnly, SameSite=Strict) and writes the same token in a hidden form field;
a POST is accepted only when the field equals the cookie. Another site can
make a browser POST to the archive, but it can neither read nor set this
cookie, so it cannot fill the field: a forged sign-in (the victim signed into
the attacker's account) or sign-out is refused with 403.
"""

from __future__ import annotations

import hmac
import re
import secrets

from fastapi import Request
from fastapi.responses import Response

CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf"
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _cookie(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if _WELL_FORMED.fullmatch(value) else None


def form_token(request: Request) -> tuple[str, bool]:
    """The token for this browser's forms, and whether it is new (to be set)."""
    existing = _cookie(request)
    return (existing, False) if existing else (secrets.token_urlsafe(32), True)


def remember(response: Response, request: Request, token: str) -> None:
    """Set the cookie that a form's token is checked against."""
    response.set_cookie(
        CSRF_COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def genuine(request: Request, submitted: str) -> bool:
    """True when the form's token equals this browser's cookie."""
    cookie = _cookie(request)
    return bool(cookie and submitted) and hmac.compare_digest(cookie, submitted)


REFUSED = (
    "this form was not sent from this archive's own page (its anti-forgery token is "
    "missing or does not match): reload the page and send it again"
)
