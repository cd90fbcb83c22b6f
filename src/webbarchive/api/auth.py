"""``/whoami`` as MAST answers it, and the token API (a user's own tokens).

astroquery's ``Observations.login`` sets the cookie ``mast_token`` and reads
``GET /whoami``: ``anon`` decides whether the login worked and
``attrib.display_name`` greets the user (astroquery/mast/auth.py, 0.4.11).
The body follows MAST's (reference mast-wire-formats.md, section 5)::

    {"eppn", "ezid", "anon", "attrib": {"uuid", "first_name", "last_name",
     "display_name", "internal", "email", "Jwstcalengdataaccess"},
     "scopes", "session", "token"}

A bad token is not an error here: ``/whoami`` answers ``anon: true`` with a
``message`` saying why, which astroquery turns into "token invalid".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from webbarchive.api.deps import (
    catalog,
    current_user,
    on_loop_without_token,
    require_login,
    token_session,
)
from webbarchive.api.errors import ApiError, bad_request, not_found
from webbarchive.catalog import accounts
from webbarchive.catalog.rights import User

router = APIRouter(tags=["auth"])

TOKENS = "/auth/api/v0.1/tokens"


@router.get(
    "/whoami",
    summary="Who the request's token authenticates (MAST's whoami)",
    responses={
        200: {
            "description": "the token's user, or anon=true (with message and reason "
            "when a token was sent and refused)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["eppn", "ezid", "anon", "attrib", "scopes", "token"],
                        "properties": {
                            "eppn": {"type": ["string", "null"]},
                            "ezid": {"type": ["string", "null"]},
                            "anon": {"type": "boolean"},
                            "attrib": {"type": "object"},
                            "scopes": {"type": "array", "items": {"type": "string"}},
                            "session": {"type": "null"},
                            "token": {"type": ["string", "null"]},
                            "token_expires_mjd": {"type": ["number", "null"]},
                            "message": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def whoami(request: Request) -> dict[str, Any]:
    session, rejected = await on_loop_without_token(request, token_session)
    if session is None:
        body: dict[str, Any] = {
            "eppn": None,
            "ezid": None,
            "anon": True,
            "attrib": {},
            "scopes": [],
            "session": None,
            "token": None,
        }
        if rejected is not None:
            body["message"] = rejected.message
            body["reason"] = rejected.reason
        return body
    account = session.account
    return {
        "eppn": account["email"] or account["name"],
        "ezid": account["name"],
        "anon": False,
        "attrib": {
            "uuid": account["uuid"],
            "first_name": account["first_name"],
            "last_name": account["last_name"],
            "display_name": account["display_name"],
            "internal": account["admin"],
            "email": account["email"],
            "Jwstcalengdataaccess": False,
            "exclusive_access_programs": sorted(session.user.programs, key=int),
        },
        "scopes": session.token["scopes"],
        "session": None,
        "token": _raw_token(request),
        "token_expires_mjd": session.token["expires_mjd"],
    }


def _raw_token(request: Request) -> str | None:
    from webbarchive.api.deps import presented_token

    return presented_token(request)


class TokenRequest(BaseModel):
    name: str = Field(
        description="what the token is for, e.g. 'laptop' or 'Astroquery' (not blank)",
        json_schema_extra={"pattern": r"\S"},  # the 400 of a blank name says what is wanted
    )
    scopes: list[str] | None = Field(
        default=None,
        json_schema_extra={"items": {"type": "string", "enum": list(accounts.DEFAULT_SCOPES)}},
        description=f"default: {' '.join(accounts.DEFAULT_SCOPES)}",
    )


@router.post(TOKENS, summary="Create a token for the logged-in user (shown once)")
def create_token(
    request: Request,
    body: TokenRequest,
    user: User = Depends(current_user),
    engine: Engine = Depends(catalog),
) -> dict[str, Any]:
    require_login(user, "creating a token")
    scopes = tuple(body.scopes) if body.scopes else accounts.DEFAULT_SCOPES
    unknown = sorted(set(scopes) - set(accounts.DEFAULT_SCOPES))
    if unknown:
        raise bad_request(f"unknown scopes {unknown}", accepted=list(accounts.DEFAULT_SCOPES))
    try:
        new = accounts.create_token(
            engine,
            user.name,
            body.name,
            scopes=scopes,
            max_active=request.app.state.settings.max_tokens_per_user,
        )
    except accounts.TokenCapReached as exc:
        raise ApiError(
            409,
            f"{exc}; revoke one you no longer use with DELETE {TOKENS}/<token_id> "
            f"(GET {TOKENS} lists yours) and create this one again",
        ) from None
    return {
        "token": new.token,
        "token_id": new.token_id,
        "name": new.name,
        "scopes": list(new.scopes),
        "created_mjd": new.created_mjd,
        "expires_mjd": new.expires_mjd,
        "message": "store this token now: the archive keeps only its hash and cannot show it "
        f"again. It expires after {accounts.INACTIVITY_DAYS:g} days without use or "
        f"{accounts.LIFETIME_DAYS:g} days after creation.",
    }


@router.get(TOKENS, summary="The logged-in user's tokens (never their value)")
def list_tokens(
    user: User = Depends(current_user), engine: Engine = Depends(catalog)
) -> dict[str, Any]:
    require_login(user, "listing tokens")
    rows = accounts.list_tokens(engine, user.name)
    return {"user": user.name, "total": len(rows), "tokens": rows}


@router.delete(TOKENS + "/{token_id}", summary="Revoke one of the logged-in user's tokens")
def revoke_token(
    token_id: int = Path(description="a token_id from GET " + TOKENS),
    user: User = Depends(current_user),
    engine: Engine = Depends(catalog),
) -> dict[str, Any]:
    require_login(user, "revoking a token")
    if not accounts.revoke_token(engine, user.name, token_id):
        raise not_found(f"{user.name!r} has no token {token_id}; GET {TOKENS} lists yours")
    return {"token_id": token_id, "revoked": True}
