"""The PostgreSQL role user queries (ADQL) run as: it may only SELECT.

ADQL is translated to SQL the archive writes, inside a READ ONLY transaction
(:mod:`webbarchive.vo.execute`); running it as this role is the second wall:
should a translated query ever reach a write (a function with side effects, a
``SET TRANSACTION READ WRITE``), the database refuses it for want of the
privilege. The role holds SELECT on the catalog's tables except the token
digests (``tokens``) and the server's own bookkeeping (``rate_buckets``,
``uws_jobs``), and no login: the catalog's role switches to it with
``SET LOCAL ROLE`` for the length of one query transaction.

Creating it needs the CREATEROLE privilege; a deployment whose catalog role
lacks it creates the role once as an administrator (deploy/README.md) and
names it in ``WEBBARCHIVE_QUERY_ROLE``.
"""

from __future__ import annotations

import logging
import weakref

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

DEFAULT_ROLE = "webbarchive_reader"
#: Tables the query role may not read.
PRIVATE_TABLES = ("tokens", "rate_buckets", "uws_jobs")

#: The role chosen for each engine (None: ADQL runs as the catalog's role).
_roles: weakref.WeakKeyDictionary[Engine, str | None] = weakref.WeakKeyDictionary()


def _quoted(role: str) -> str:
    if not role.replace("_", "").isalnum():
        raise ValueError(f"WEBBARCHIVE_QUERY_ROLE={role!r}: letters, digits and _ only")
    return f'"{role}"'


def install(conn: Connection, role: str = DEFAULT_ROLE) -> None:
    """Create ``role`` if missing, grant it SELECT on the catalog's tables (but
    :data:`PRIVATE_TABLES`) and let the current role switch to it. Idempotent;
    after the tables exist."""
    name = _quoted(role)
    conn.execute(text("SELECT pg_advisory_xact_lock(80810)"))  # workers start together
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        conn.execute(text(f"CREATE ROLE {name} NOLOGIN NOSUPERUSER NOINHERIT"))
    # an operator who made the role (deploy/postgres/init.sh) granted it already,
    # and a catalog role without CREATEROLE could not
    member = "SELECT pg_has_role(current_user, :r, 'MEMBER')"
    if not conn.execute(text(member), {"r": role}).scalar():
        conn.execute(text(f"GRANT {name} TO CURRENT_USER"))
    usage = "SELECT has_schema_privilege(:r, 'public', 'USAGE')"
    if not conn.execute(text(usage), {"r": role}).scalar():
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {name}"))
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}"))
    for table in PRIVATE_TABLES:
        conn.execute(text(f"REVOKE ALL ON TABLE {table} FROM {name}"))


def install_configured(engine: Engine) -> None:
    """Set up the role ``WEBBARCHIVE_QUERY_ROLE`` names (default
    :data:`DEFAULT_ROLE`) with the catalog's schema: created when missing and
    the catalog's role may create roles, granted SELECT on the tables (else a
    warning: ADQL keeps its READ ONLY transaction)."""
    from webbarchive.config import current

    role = current().query_role.strip() or DEFAULT_ROLE
    if role.lower() == "none":
        return
    try:
        with engine.begin() as conn:
            install(conn, role)
    except SQLAlchemyError as exc:
        log.warning("cannot set up the query role %s: %s", role, exc)


def configure(engine: Engine, setting: str) -> None:
    """Choose the query role of ``engine`` from ``WEBBARCHIVE_QUERY_ROLE``:
    '' the default role when it exists, 'none' no role, else that existing role."""
    if engine.dialect.name != "postgresql":
        return
    setting = setting.strip()
    if setting.lower() == "none":
        _roles[engine] = None
        return
    role = setting or DEFAULT_ROLE
    try:
        with engine.connect() as conn:
            usable = conn.execute(
                text(
                    "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles "
                    "WHERE rolname = :r"
                ),
                {"r": role},
            ).scalar()
    except SQLAlchemyError as exc:
        log.warning("ADQL runs as the catalog's role: cannot set up %s: %s", role, exc)
        usable = False
    if not usable:
        if setting:
            raise ValueError(
                f"WEBBARCHIVE_QUERY_ROLE={setting!r}: no such role, or the catalog's role "
                "may not SET ROLE to it (GRANT it to the catalog's role)"
            )
        log.warning("ADQL runs as the catalog's role: %s is not available", role)
        _roles[engine] = None
        return
    _roles[engine] = role


def of(engine: Engine) -> str | None:
    """The role ``engine``'s user queries run as, or None."""
    return _roles.get(engine)


def set_local(cursor, engine: Engine) -> None:
    """``SET LOCAL ROLE`` on a DB-API cursor inside the query's transaction."""
    role = of(engine)
    if role is not None:
        cursor.execute(f"SET LOCAL ROLE {_quoted(role)}")
