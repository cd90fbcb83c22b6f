"""The admin API: accounts, program PIs and collaborators, release overrides.

Everything here is what the ``webbarchive users`` / ``programs`` commands do,
over HTTP. Administrators may do all of it; a program's PI may also grant and
revoke that program's collaborators (MAST: "authorization may be granted by a
PI to their collaborators", seed 002).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from webbarchive.api.deps import catalog, current_user, require_admin, require_login
from webbarchive.api.errors import ApiError, not_found
from webbarchive.catalog import accounts
from webbarchive.catalog.accounts import parse_release
from webbarchive.catalog.rights import User

router = APIRouter(prefix="/admin/api/v0.1", tags=["admin"])


class NewUser(BaseModel):
    name: str = Field(description="login name, one word")
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    admin: bool = False


class UserRef(BaseModel):
    user: str = Field(description="login name of an existing user")


class Release(BaseModel):
    release: str | float | None = Field(
        description="new public release of the whole program: an MJD, an ISO date "
        "('2027-03-01' or '2027-03-01T12:00:00'), or null to clear the override"
    )


@router.get("/users", summary="Every account with the programs it may read")
def list_users(
    user: User = Depends(current_user), engine: Engine = Depends(catalog)
) -> dict[str, Any]:
    require_admin(user)
    rows = accounts.list_users(engine)
    return {"total": len(rows), "users": rows}


@router.post("/users", summary="Create an account")
def add_user(
    body: NewUser, user: User = Depends(current_user), engine: Engine = Depends(catalog)
) -> dict[str, Any]:
    require_admin(user)
    row = accounts.add_user(engine, **body.model_dump())
    return {k: row[k] for k in ("name", "display_name", "email", "admin", "uuid")}


@router.get("/programs/{proposal_id}", summary="A program's PI, collaborators and release")
def show_program(
    proposal_id: str, user: User = Depends(current_user), engine: Engine = Depends(catalog)
) -> dict[str, Any]:
    _require_admin_or_pi(engine, user, proposal_id)
    return _program(engine, proposal_id)


@router.put("/programs/{proposal_id}/pi", summary="Name the program's PI")
def set_pi(
    proposal_id: str,
    body: UserRef,
    user: User = Depends(current_user),
    engine: Engine = Depends(catalog),
) -> dict[str, Any]:
    require_admin(user)
    accounts.set_pi(engine, proposal_id, body.user)
    return _program(engine, proposal_id)


@router.post("/programs/{proposal_id}/collaborators", summary="Authorize a collaborator")
def grant(
    proposal_id: str,
    body: UserRef,
    user: User = Depends(current_user),
    engine: Engine = Depends(catalog),
) -> dict[str, Any]:
    _require_admin_or_pi(engine, user, proposal_id)
    accounts.grant(engine, proposal_id, body.user)
    return _program(engine, proposal_id)


@router.delete(
    "/programs/{proposal_id}/collaborators/{user_name}", summary="Withdraw a collaborator"
)
def revoke(
    proposal_id: str,
    user_name: str,
    user: User = Depends(current_user),
    engine: Engine = Depends(catalog),
) -> dict[str, Any]:
    _require_admin_or_pi(engine, user, proposal_id)
    removed = accounts.revoke(engine, proposal_id, user_name)
    if not removed:
        raise not_found(f"{user_name!r} is not a collaborator of program {proposal_id}")
    return _program(engine, proposal_id)


@router.put("/programs/{proposal_id}/release", summary="Override the program's public release")
def set_release(
    proposal_id: str,
    body: Release,
    user: User = Depends(current_user),
    engine: Engine = Depends(catalog),
) -> dict[str, Any]:
    require_admin(user)
    accounts.set_release(engine, proposal_id, parse_release(body.release))
    return _program(engine, proposal_id)


def _require_admin_or_pi(engine: Engine, user: User, proposal_id: str) -> None:
    require_login(user, "managing a program")
    if user.admin:
        return
    if not accounts.is_pi(engine, proposal_id, user.name):
        raise ApiError(
            403, f"only administrators and the PI of program {proposal_id} may manage its access"
        )


def _program(engine: Engine, proposal_id: str) -> dict[str, Any]:
    return accounts.program_access(engine, proposal_id)
