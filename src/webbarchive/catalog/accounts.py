"""Accounts, program access and API tokens (Auth.MAST style).

- ``users``: people who can hold tokens; ``admin`` users read everything and
  run the admin API.
- ``program_collaborators``: who may read a program's exclusive-access data,
  with ``role`` ``pi`` (one per program, set by an admin) or ``collaborator``
  (granted by an admin or by the program's PI).
- ``tokens``: API tokens, stored only as the SHA-256 of the token string. A
  token expires :data:`INACTIVITY_DAYS` days after its last use or
  :data:`LIFETIME_DAYS` days after its creation, whichever comes first (MAST's
  policy, seed 002). The plaintext is shown once, when it is created.

Times are MJD (UTC) like the rest of the catalog. Every function that reads the
clock takes ``now_mjd`` so tests can inject one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from webbarchive.catalog.rights import User, now_mjd
from webbarchive.catalog.schema import metadata, programs
from webbarchive.errors import ArchiveError, InvalidInput, NotFound

INACTIVITY_DAYS = 10.0
LIFETIME_DAYS = 60.0
#: Last use is written at most this often per token, so a busy script does not
#: turn every read into a write. Inactivity is therefore measured to within it.
LAST_USE_RESOLUTION_DAYS = 60.0 / 86400.0
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
DEFAULT_SCOPES = ("mast:user:info", "mast:exclusive_access")

PI = "pi"
COLLABORATOR = "collaborator"

users = Table(
    "users",
    metadata,
    Column("user_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),  # login name, e.g. "jdoe"
    Column("display_name", Text),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("email", Text),
    Column("uuid", String(36), nullable=False, unique=True),  # whoami attrib.uuid
    Column("admin", Boolean, nullable=False, default=False),
    Column("created_mjd", Float, nullable=False),
)

program_collaborators = Table(
    "program_collaborators",
    metadata,
    # No foreign key to programs: an admin may name the PI before the files arrive.
    Column("proposal_id", String(16), primary_key=True),
    Column(
        "user_id",
        BigInteger,
        ForeignKey("users.user_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(16), nullable=False),  # pi | collaborator
    Column("granted_mjd", Float, nullable=False),
)
Index("ix_program_collaborators_user", program_collaborators.c.user_id)

tokens = Table(
    "tokens",
    metadata,
    Column("token_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),  # hex digest, never plaintext
    Column("scopes", Text, nullable=False),  # space-separated
    Column("created_mjd", Float, nullable=False),
    Column("last_used_mjd", Float),
    Column("revoked_mjd", Float),
)
Index("ix_tokens_user", tokens.c.user_id)


class TokenCapReached(ValueError):
    """A user asked for a token past :func:`create_token`'s ``max_active``."""


class AccountError(ArchiveError):
    """Base of the refusals of a request on accounts."""


class AccountInputError(AccountError, InvalidInput):
    """A request on accounts that cannot be done (a malformed name, a duplicate ...)."""


class UnknownAccount(AccountError, NotFound):
    """A user or program the catalog does not hold."""


class TokenRejected(Exception):
    """A presented token that does not authenticate anyone; ``reason`` is one of
    ``unknown``, ``revoked``, ``inactive`` or ``lifetime`` and ``message`` says
    what happened in words a user can act on."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored.

    Tokens carry 256 random bits, so a fast unsalted hash is enough: there is
    nothing to brute-force, and lookups stay one indexed equality.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_proposal_id(proposal_id: str | int) -> str:
    """``"01039"``, ``1039`` or ``" 1039 "`` -> ``"1039"`` (the catalog's form)."""
    text = str(proposal_id).strip()
    if not text.isdigit():
        raise AccountInputError(f"a program is a JWST proposal number such as 1039, not {text!r}")
    return str(int(text))


def _now(now_mjd_value: float | None) -> float:
    return now_mjd() if now_mjd_value is None else now_mjd_value


# --- users ---------------------------------------------------------------------------


def add_user(
    engine: Engine,
    name: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    admin: bool = False,
    now_mjd: float | None = None,
) -> dict[str, Any]:
    """Create a user; raises :class:`AccountError` when ``name`` is taken."""
    import uuid

    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise AccountInputError(f"a user name is one word without spaces, not {name!r}")
    row = {
        "name": name,
        "display_name": display_name or name,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "uuid": str(uuid.uuid4()),
        "admin": bool(admin),
        "created_mjd": _now(now_mjd),
    }
    try:
        with engine.begin() as conn:
            row["user_id"] = conn.execute(insert(users).values(**row)).inserted_primary_key[0]
    except IntegrityError:
        raise AccountInputError(f"user {name!r} already exists") from None
    return row


def get_user(engine: Engine, name: str) -> dict[str, Any]:
    """The users row of ``name``; raises :class:`AccountError` when unknown."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if row is None:
        raise UnknownAccount(f"no user named {name!r}; create one with 'webbarchive users add'")
    return dict(row)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Every user with the programs they may read, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
        access = conn.execute(select(program_collaborators)).mappings().all()
    out = []
    for row in rows:
        mine = [a for a in access if a["user_id"] == row["user_id"]]
        out.append(
            {
                "name": row["name"],
                "display_name": row["display_name"],
                "email": row["email"],
                "admin": row["admin"],
                "pi_of": sorted((a["proposal_id"] for a in mine if a["role"] == PI), key=int),
                "collaborator_of": sorted(
                    (a["proposal_id"] for a in mine if a["role"] == COLLABORATOR), key=int
                ),
            }
        )
    return out


def programs_of(engine: Engine, user_id: int) -> frozenset[str]:
    """The proposal_ids ``user_id`` may read as PI or collaborator."""
    with engine.connect() as conn:
        ids = conn.execute(
            select(program_collaborators.c.proposal_id).where(
                program_collaborators.c.user_id == user_id
            )
        ).scalars()
        return frozenset(ids)


def user_for(engine: Engine, name: str) -> User:
    """The :class:`User` (with programs) of account ``name``."""
    row = get_user(engine, name)
    return _as_user(row, programs_of(engine, row["user_id"]))


def _as_user(row: Any, programs_read: frozenset[str]) -> User:
    return User(
        name=row["name"],
        display_name=row["display_name"],
        programs=programs_read,
        admin=bool(row["admin"]),
    )


# --- programs: PI, collaborators, release override -----------------------------------


def set_pi(engine: Engine, proposal_id: str | int, user_name: str, *, now_mjd=None) -> None:
    """Make ``user_name`` the PI of ``proposal_id`` (replacing any previous PI,
    who keeps no access unless granted as a collaborator)."""
    pid = normalize_proposal_id(proposal_id)
    user = get_user(engine, user_name)
    with engine.begin() as conn:
        conn.execute(
            delete(program_collaborators).where(
                (program_collaborators.c.proposal_id == pid)
                & (
                    (program_collaborators.c.role == PI)
                    | (program_collaborators.c.user_id == user["user_id"])
                )
            )
        )
        conn.execute(
            insert(program_collaborators).values(
                proposal_id=pid, user_id=user["user_id"], role=PI, granted_mjd=_now(now_mjd)
            )
        )


def _role(conn, proposal_id: str, user_id: int) -> str | None:
    """The user's role in the program (PI, collaborator), None without one."""
    return conn.execute(
        select(program_collaborators.c.role).where(
            (program_collaborators.c.proposal_id == proposal_id)
            & (program_collaborators.c.user_id == user_id)
        )
    ).scalar()


def grant(engine: Engine, proposal_id: str | int, user_name: str, *, now_mjd=None) -> bool:
    """Authorize ``user_name`` to read ``proposal_id``'s exclusive data.
    Returns False when they already could (as PI or collaborator)."""
    pid = normalize_proposal_id(proposal_id)
    user = get_user(engine, user_name)
    with engine.begin() as conn:
        if _role(conn, pid, user["user_id"]) is not None:
            return False
        conn.execute(
            insert(program_collaborators).values(
                proposal_id=pid,
                user_id=user["user_id"],
                role=COLLABORATOR,
                granted_mjd=_now(now_mjd),
            )
        )
    return True


def revoke(engine: Engine, proposal_id: str | int, user_name: str) -> bool:
    """Withdraw a collaborator's access; False when they had none. The PI cannot
    be revoked this way (name another PI with :func:`set_pi`)."""
    pid = normalize_proposal_id(proposal_id)
    user = get_user(engine, user_name)
    with engine.begin() as conn:
        role = _role(conn, pid, user["user_id"])
        if role == PI:
            raise AccountInputError(
                f"{user_name!r} is the PI of program {pid}; name another PI with "
                "'webbarchive programs set-pi' instead"
            )
        if role is None:
            return False
        conn.execute(
            delete(program_collaborators).where(
                (program_collaborators.c.proposal_id == pid)
                & (program_collaborators.c.user_id == user["user_id"])
            )
        )
    return True


def program_access(engine: Engine, proposal_id: str | int) -> dict[str, Any]:
    """PI, collaborators and release override of one program."""
    pid = normalize_proposal_id(proposal_id)
    with engine.connect() as conn:
        rows = conn.execute(
            select(users.c.name, program_collaborators.c.role)
            .join(users, users.c.user_id == program_collaborators.c.user_id)
            .where(program_collaborators.c.proposal_id == pid)
            .order_by(users.c.name)
        ).all()
        program = (
            conn.execute(select(programs).where(programs.c.proposal_id == pid)).mappings().first()
        )
    return {
        "proposal_id": pid,
        "known": program is not None,
        "pi": next((name for name, role in rows if role == PI), None),
        "collaborators": [name for name, role in rows if role == COLLABORATOR],
        "release_override_mjd": program["release_override_mjd"] if program else None,
    }


def set_release(engine: Engine, proposal_id: str | int, release_mjd: float | None) -> None:
    """Set (or clear, with None) a program's public release override, in MJD.

    The program must be in the catalog: the override lives on its row and
    ingest creates the row from the headers.
    """
    pid = normalize_proposal_id(proposal_id)
    with engine.begin() as conn:
        done = conn.execute(
            update(programs)
            .where(programs.c.proposal_id == pid)
            .values(release_override_mjd=release_mjd)
        ).rowcount
    if not done:
        raise UnknownAccount(f"program {pid} is not in the catalog; ingest its files first")


def parse_release(value: str | float | None) -> float | None:
    """An MJD, an ISO date/time (UTC) or None/'none' -> MJD or None."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        return float(value)
    except ValueError:
        pass
    from webbarchive.times import mjd_of_iso

    try:
        return mjd_of_iso(str(value))
    except ValueError:
        raise AccountInputError(
            f"not a release date: {value!r}; give an MJD (61500.0), an ISO date "
            "(2027-03-01 or 2027-03-01T12:00:00) or 'none'"
        ) from None


def is_pi(engine: Engine, proposal_id: str | int, user_name: str) -> bool:
    pid = normalize_proposal_id(proposal_id)
    with engine.connect() as conn:
        return (
            conn.execute(
                select(program_collaborators.c.role)
                .join(users, users.c.user_id == program_collaborators.c.user_id)
                .where(
                    (program_collaborators.c.proposal_id == pid)
                    & (users.c.name == user_name)
                    & (program_collaborators.c.role == PI)
                )
            ).first()
            is not None
        )


# --- tokens --------------------------------------------------------------------------


def user_id_of_token(engine: Engine, digest: str) -> int | None:
    """The user_id a token (by its SHA-256 hex ``digest``) belongs to, revoked or
    expired alike, or None for a token the archive never issued. For counting a
    user's requests across their tokens, not for authentication."""
    with engine.connect() as conn:
        return conn.execute(
            select(tokens.c.user_id).where(tokens.c.token_sha256 == digest)
        ).scalar_one_or_none()


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the only copy of the plaintext."""

    token: str
    token_id: int
    name: str
    created_mjd: float
    expires_mjd: float
    scopes: tuple[str, ...]


def create_token(
    engine: Engine,
    user_name: str,
    name: str,
    *,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    now_mjd: float | None = None,
    max_active: int | None = None,
) -> NewToken:
    """Create a token for ``user_name``; the plaintext is returned once and
    only its SHA-256 is stored. With ``max_active``, a user who already holds
    that many active tokens gets :class:`TokenCapReached` instead."""
    user = get_user(engine, user_name)
    name = (name or "").strip()
    if not name:
        raise AccountInputError("a token needs a name saying what it is for, e.g. 'laptop'")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    created = _now(now_mjd)
    with engine.begin() as conn:
        if max_active is not None:
            active = count_active_tokens(conn, user["user_id"], created)
            if active >= max_active:
                raise TokenCapReached(
                    f"{user_name!r} already holds {active} active tokens, the most one user "
                    f"may hold ({max_active})"
                )
        token_id = conn.execute(
            insert(tokens).values(
                user_id=user["user_id"],
                name=name,
                token_sha256=hash_token(token),
                scopes=" ".join(scopes),
                created_mjd=created,
                last_used_mjd=None,
                revoked_mjd=None,
            )
        ).inserted_primary_key[0]
    return NewToken(
        token=token,
        token_id=int(token_id),
        name=name,
        created_mjd=created,
        expires_mjd=_expiry(created, None),
        scopes=tuple(scopes),
    )


def count_active_tokens(conn: Connection, user_id: int, at_mjd: float) -> int:
    """Tokens of ``user_id`` neither revoked nor expired at ``at_mjd`` (the SQL
    twin of :func:`token_status` == "active")."""
    last_use = func.coalesce(tokens.c.last_used_mjd, tokens.c.created_mjd)
    return conn.execute(
        select(func.count())
        .select_from(tokens)
        .where(
            tokens.c.user_id == user_id,
            tokens.c.revoked_mjd.is_(None),
            tokens.c.created_mjd > at_mjd - LIFETIME_DAYS,
            last_use > at_mjd - INACTIVITY_DAYS,
        )
    ).scalar_one()


def _expiry(created_mjd: float, last_used_mjd: float | None) -> float:
    """The moment a token stops working if it is not used again."""
    last = last_used_mjd if last_used_mjd is not None else created_mjd
    return min(created_mjd + LIFETIME_DAYS, last + INACTIVITY_DAYS)


def token_status(row: Any, at_mjd: float) -> str:
    """``active``, ``revoked``, ``inactive`` (10 days unused) or ``lifetime``
    (60 days old); when both limits passed, the one reached first."""
    if row["revoked_mjd"] is not None:
        return "revoked"
    last = row["last_used_mjd"] if row["last_used_mjd"] is not None else row["created_mjd"]
    inactive_at = last + INACTIVITY_DAYS
    lifetime_at = row["created_mjd"] + LIFETIME_DAYS
    if at_mjd < min(inactive_at, lifetime_at):
        return "active"
    return "inactive" if inactive_at <= lifetime_at else "lifetime"


def _describe(row: Any, at_mjd: float) -> dict[str, Any]:
    return {
        "token_id": int(row["token_id"]),
        "name": row["name"],
        "scopes": row["scopes"].split(),
        "created_mjd": row["created_mjd"],
        "last_used_mjd": row["last_used_mjd"],
        "expires_mjd": _expiry(row["created_mjd"], row["last_used_mjd"]),
        "revoked_mjd": row["revoked_mjd"],
        "status": token_status(row, at_mjd),
    }


def list_tokens(
    engine: Engine, user_name: str, *, now_mjd: float | None = None
) -> list[dict[str, Any]]:
    """The tokens of ``user_name`` (never their plaintext or hash)."""
    user = get_user(engine, user_name)
    at = _now(now_mjd)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(tokens)
                .where(tokens.c.user_id == user["user_id"])
                .order_by(tokens.c.token_id)
            )
            .mappings()
            .all()
        )
    return [_describe(row, at) for row in rows]


def revoke_token(
    engine: Engine, user_name: str, token_id: int, *, now_mjd: float | None = None
) -> bool:
    """Revoke token ``token_id`` of ``user_name``. False when the user has no
    such token (someone else's token is "no such token", not "forbidden"), nor
    for an id no token can have (beyond 64-bit integers)."""
    if not 0 < token_id < 2**63:
        return False
    user = get_user(engine, user_name)
    with engine.begin() as conn:
        done = conn.execute(
            update(tokens)
            .where(
                (tokens.c.token_id == token_id)
                & (tokens.c.user_id == user["user_id"])
                & tokens.c.revoked_mjd.is_(None)
            )
            .values(revoked_mjd=_now(now_mjd))
        ).rowcount
        if done:
            return True
        owned = conn.execute(
            select(tokens.c.token_id).where(
                (tokens.c.token_id == token_id) & (tokens.c.user_id == user["user_id"])
            )
        ).first()
    if owned:
        return True  # already revoked: revoking is idempotent
    return False


@dataclass(frozen=True)
class Session:
    """Who a valid token authenticates, for ``/whoami``."""

    user: User
    account: dict[str, Any]
    token: dict[str, Any]


def resolve_token(engine: Engine, token: str, *, now_mjd: float | None = None) -> Session:
    """The session a token opens, or :class:`TokenRejected` saying why not.

    Records the use (at most once per :data:`LAST_USE_RESOLUTION_DAYS`).
    """
    at = _now(now_mjd)
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(
                    tokens,
                    *(
                        users.c[k].label(f"user_{k}")
                        for k in (
                            "name",
                            "display_name",
                            "first_name",
                            "last_name",
                            "email",
                            "uuid",
                            "admin",
                        )
                    ),
                )
                .join(users, users.c.user_id == tokens.c.user_id)
                .where(tokens.c.token_sha256 == hash_token(token))
            )
            .mappings()
            .first()
        )
    if row is None:
        raise TokenRejected(
            "unknown", "the token is not valid here (unknown to this archive); create one"
        )
    status = token_status(row, at)
    if status == "revoked":
        raise TokenRejected("revoked", f"token {row['name']!r} was revoked; create a new one")
    if status == "inactive":
        raise TokenRejected(
            "inactive",
            f"token {row['name']!r} expired: unused for {INACTIVITY_DAYS:g} days "
            f"(last used {_iso(row['last_used_mjd'] or row['created_mjd'])}); create a new one",
        )
    if status == "lifetime":
        raise TokenRejected(
            "lifetime",
            f"token {row['name']!r} expired: older than {LIFETIME_DAYS:g} days "
            f"(created {_iso(row['created_mjd'])}); create a new one",
        )
    row = dict(row)
    last = row["last_used_mjd"]
    if last is None or at - last >= LAST_USE_RESOLUTION_DAYS:
        with engine.begin() as conn:
            conn.execute(
                update(tokens).where(tokens.c.token_id == row["token_id"]).values(last_used_mjd=at)
            )
        row["last_used_mjd"] = at
    account = {k[5:]: v for k, v in row.items() if k.startswith("user_") and k != "user_id"}
    account["admin"] = bool(account["admin"])
    user = _as_user(account, programs_of(engine, row["user_id"]))
    return Session(user=user, account=account, token=_describe(row, at))


def _iso(mjd: float) -> str:
    from webbarchive.times import iso_of_mjd

    return iso_of_mjd(mjd)[:19] + "Z"
