"""Data rights, computed at request time from release dates.

A product is PUBLIC once its release moment has passed:
``programs.release_override_mjd`` when an admin set one, otherwise the
product's ``publicReleaseDate_mjd`` (observations: ``t_obs_release``). Nothing
is stored as a flag, so data turn public at their release moment without a job.

Default deny: a release that is not known (NULL, NaN) is never public. Such a
row is read only by admins and by the PI and collaborators of its program,
until ingest or an admin decides its release. Community files (msaexp spectra,
redshift tables, MSA shutter tables) follow the release of the program their
name or header names, or are public, per collection (:class:`CommunityRights`).

This module is the single place that decides who may see what. Every router
asks it, through :func:`webbarchive.api.deps.current_user` and the helpers
below; the accounts capability extends :class:`User` with PIs and collaborators.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
)

from webbarchive.catalog.schema import observations, products, programs
from webbarchive.errors import Forbidden, NotFound, Unauthorized

PUBLIC = "PUBLIC"
EXCLUSIVE_ACCESS = "EXCLUSIVE_ACCESS"
MJD_UNIX_EPOCH = 40587.0


def now_mjd() -> float:
    """The current time as MJD (UTC)."""
    return MJD_UNIX_EPOCH + time.time() / 86400.0


@dataclass(frozen=True)
class User:
    """Who is asking. ``programs`` are the proposal_ids the user may read
    (as PI or collaborator); ``admin`` reads everything."""

    name: str | None = None
    display_name: str | None = None
    programs: frozenset[str] = field(default_factory=frozenset)
    admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.name is None


ANONYMOUS = User()


#: Stands for an unknown release in SQL comparisons: later than any moment
#: (MJD 10^9 is 2.7 million years away), so an unknown release is never public.
NEVER_MJD = 1.0e9


def rights_for(release_mjd: float | None, at_mjd: float | None = None) -> str:
    """PUBLIC when the release moment has passed, else EXCLUSIVE_ACCESS.

    An unknown release (None or NaN) is EXCLUSIVE_ACCESS: default deny.
    """
    if release_mjd is None or release_mjd != release_mjd:
        return EXCLUSIVE_ACCESS
    return (
        PUBLIC if release_mjd <= (at_mjd if at_mjd is not None else now_mjd()) else EXCLUSIVE_ACCESS
    )


def _effective_release(release_column, proposal_column) -> ColumnElement:
    override = (
        select(programs.c.release_override_mjd)
        .where(programs.c.proposal_id == proposal_column)
        .scalar_subquery()
    )
    return func.coalesce(override, release_column)


def product_release_expr() -> ColumnElement:
    """SQL for a product's effective public release (MJD)."""
    return _effective_release(products.c.publicReleaseDate_mjd, products.c.proposal_id)


def observation_release_expr() -> ColumnElement:
    """SQL for an observation's effective public release (MJD)."""
    return _effective_release(observations.c.t_obs_release, observations.c.proposal_id)


def public_expr(release: ColumnElement, at_mjd: float | None = None) -> ColumnElement:
    """SQL that is true when an effective release expression has passed (now,
    or at ``at_mjd``), and false (never NULL) when it has not or is unknown."""
    at = now_mjd() if at_mjd is None else at_mjd
    return func.coalesce(release, literal(NEVER_MJD)) <= literal(at)


def rights_expr(release: ColumnElement, at_mjd: float | None = None) -> ColumnElement:
    """SQL for dataRights ('PUBLIC' / 'EXCLUSIVE_ACCESS') of an effective release
    expression, evaluated at request time (or at ``at_mjd``)."""
    return case((public_expr(release, at_mjd), literal(PUBLIC)), else_=literal(EXCLUSIVE_ACCESS))


def _visible(
    release: ColumnElement, proposal_column, user: User, at_mjd: float | None = None
) -> ColumnElement:
    if user.admin:
        return true()
    public = public_expr(release, at_mjd)
    if user.programs:
        # two-valued even where the program is NULL, so NOT of it is the hidden rows
        member = and_(proposal_column.is_not(None), proposal_column.in_(sorted(user.programs)))
        return or_(public, member)
    return public


def visible_products(user: User, at_mjd: float | None = None) -> ColumnElement:
    """WHERE clause keeping the products whose data ``user`` may read (now, or at
    ``at_mjd``)."""
    return _visible(product_release_expr(), products.c.proposal_id, user, at_mjd)


#: ``calib_level`` of planned and scheduled visits (:mod:`webbarchive.plans`).
PLANNED_CALIB_LEVEL = -1


def planned_expr() -> ColumnElement:
    """SQL that is true for the observation rows of planned visits (two-valued).

    Planned visits are public metadata at MAST whatever the program's exclusive
    access: proposers must check their targets against them before proposing
    (the duplication check). Their rows hold only the plan (target, position,
    template, optical elements, window) and no products; nothing of the
    executed program (headers, footprints, files) is reached through them."""
    return func.coalesce(observations.c.calib_level, 0) == PLANNED_CALIB_LEVEL


def visible_observations(user: User) -> ColumnElement:
    """WHERE clause keeping the observations whose metadata ``user`` may read.

    JWST metadata are public except for a few programs; metaDataRights follows
    dataRights here until a program asks otherwise. Planned visits are public
    (:func:`planned_expr`).
    """
    return or_(
        _visible(observation_release_expr(), observations.c.proposal_id, user), planned_expr()
    )


def visible_mask(
    user: User, proposal_ids: np.ndarray, release_mjd: np.ndarray, at_mjd: float | None = None
) -> np.ndarray:
    """:func:`visible_products` over rows held in memory: ``release_mjd`` is the
    effective release (NaN where none), ``proposal_ids`` the programs. The same
    rule as the SQL form, which a test checks row by row: NaN is never public."""
    if user.admin:
        return np.ones(release_mjd.shape, bool)
    at = now_mjd() if at_mjd is None else at_mjd
    with np.errstate(invalid="ignore"):
        public = release_mjd <= at
    if user.programs:
        public |= np.isin(proposal_ids, sorted(user.programs))
    return public


def may_read(user: User, proposal_id: str | None, release_mjd: float | None) -> bool:
    """Whether ``user`` may read data of ``proposal_id`` released at ``release_mjd``."""
    if user.admin or rights_for(release_mjd) == PUBLIC:
        return True
    return proposal_id is not None and proposal_id in user.programs


def may_read_engineering(user: User) -> bool:
    """Whether ``user`` may read engineering telemetry (``mast:jwstedb`` and the
    ``Mast.JwstEdb.GetTimeseries`` service): any logged-in user, as MAST asks a
    valid token for them; the mnemonic dictionary is public metadata."""
    return not user.anonymous


def and_visible(clause: ColumnElement | None, visibility: ColumnElement) -> ColumnElement:
    """Combine a query's own filter with a visibility clause."""
    return visibility if clause is None else and_(clause, visibility)


ALLOWED = "allowed"
NEEDS_LOGIN = "needs_login"
FORBIDDEN = "forbidden"


def decide(user: User, proposal_id: str | None, release_mjd: float | None) -> str:
    """ALLOWED, NEEDS_LOGIN (anonymous asking for exclusive data) or FORBIDDEN."""
    if may_read(user, proposal_id, release_mjd):
        return ALLOWED
    return NEEDS_LOGIN if user.anonymous else FORBIDDEN


#: How a request sends its token, said in every refusal that asks for one.
TOKEN_FORMS = (
    "send a token as 'Authorization: token <token>', 'Authorization: Bearer <token>' "
    "or the cookie mast_token"
)


def check_named(
    user: User, row: Mapping[str, Any] | None, what: str, missing: str | None = None
) -> None:
    """The one rule for a request that *names* a product, an observation or a
    spectrum (a search, by contrast, never sees what it may not read).

    ``row`` is the named thing looked up without regard to rights (None: the
    archive holds no such thing), with its ``proposal_id`` and *effective*
    ``release_mjd``. Missing: :class:`~webbarchive.errors.NotFound` (``missing``
    is its message). Present but not this user's to read: ``Unauthorized``
    for the anonymous (a token may open it), ``Forbidden`` for anyone else. The
    refusal names only ``what`` (the name the caller sent) and no other value
    of the hidden row, so it confirms nothing that was not asked.
    """
    if row is None:
        raise NotFound(missing or f"no {what!r} in this archive")
    verdict = decide(user, row["proposal_id"], row["release_mjd"])
    if verdict == NEEDS_LOGIN:
        raise Unauthorized(f"{what} is in its exclusive access period; {TOKEN_FORMS}")
    if verdict == FORBIDDEN:
        raise Forbidden(
            f"{what} is in its exclusive access period and {user.name!r} is neither the PI "
            "of its program nor an authorized collaborator"
        )


#: Rows a barrier SELECT may return: more than any table holds, so the LIMIT
#: never cuts a result; it is there for what it forbids (see :func:`barrier`).
BARRIER_LIMIT = 2**62


def barrier(query: Select) -> Select:
    """``query`` (whose WHERE holds a visibility clause) as a barrier for SQL
    written by users (ADQL): its rows leave only after its own WHERE.

    Neither SQLite nor PostgreSQL may move a condition of an outer query into a
    subquery that has a LIMIT, or merge the two, because that would change
    which rows the LIMIT keeps. So a user's condition, which can fail on a value
    (a cast, a division, an overflow) and make the error tell that value, runs
    only on rows the user may read, in whatever order either planner
    evaluates conditions. What the query needs to be fast (spatial cells,
    indexed equalities) is copied into ``query``'s own WHERE by the caller, from
    conditions that cannot fail. tests/security/test_adql_oracle.py holds
    both engines to this with a spy function that records every value a user
    expression is given.
    """
    return query.limit(BARRIER_LIMIT)


def rights_fingerprint(conn: Connection, user: User) -> str:
    """A digest of everything that decides what ``user`` may read: the admin
    flag, the programs they hold and every program's release override.

    Work done for a user at one moment (an async TAP result) is served later
    only while the digest is unchanged: a collaborator revoked, or a program an
    admin made exclusive again, invalidates it. Release dates passing with time
    only ever widen what is visible, so they are not part of it; neither are
    products' own release dates, which ingest sets once (issue 12, item 2).
    """
    overrides = conn.execute(
        select(programs.c.proposal_id, programs.c.release_override_mjd)
        .where(programs.c.release_override_mjd.is_not(None))
        .order_by(programs.c.proposal_id)
    ).all()
    digest = hashlib.sha256()
    digest.update(f"admin={user.admin};programs={','.join(sorted(user.programs))};".encode())
    for proposal_id, release in overrides:
        digest.update(f"{proposal_id}={release!r};".encode())
    return digest.hexdigest()


# --- community files: msaexp spectra, redshift tables, MSA shutter tables ------------

#: Community collections whose rights are configurable, and what each covers.
COMMUNITY_COLLECTIONS = {
    "msaexp": "msaexp spectra (nirspec_extractions, their traces, files and previews)",
    "redshifts": "z, grade and comment from redshift tables and spectrum headers",
    "msa": "MSA shutter rows (nirspec_slits: source ids and positions of the MSA plan)",
}
#: Follow the program named by the file (its name or PROGRAM header).
FOLLOW_PROGRAM = "program"
#: Public to everyone, whatever the program's rights.
OPEN = "public"
COMMUNITY_MODES = (FOLLOW_PROGRAM, OPEN)


@dataclass(frozen=True)
class CommunityRights:
    """Who may read each community collection: ``program`` (the default) or ``public``.

    ``program``: public once the program's release has passed
    (:func:`program_release_expr`), else only its PI, collaborators and admins;
    a program with no catalogued product or any of unknown release is not public.
    ``public``: everyone. MSA shutter rows also need their exposure, a JWST
    product, to be readable. Parsed from ``WEBBARCHIVE_COMMUNITY_RIGHTS``
    (``msaexp=program,redshifts=public``; collections not named keep ``program``).
    """

    msaexp: str = FOLLOW_PROGRAM
    redshifts: str = FOLLOW_PROGRAM
    msa: str = FOLLOW_PROGRAM

    @classmethod
    def parse(cls, text: str) -> CommunityRights:
        """``"msaexp=program,redshifts=public"`` (empty: every collection follows
        its program). ValueError says what is accepted."""
        modes: dict[str, str] = {}
        accepted = (
            f"comma-separated collection=mode with collection in {sorted(COMMUNITY_COLLECTIONS)} "
            f"and mode in {list(COMMUNITY_MODES)}, e.g. 'msaexp=program,redshifts=public'"
        )
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, mode = (s.strip().lower() for s in item.partition("="))
            if not sep or name not in COMMUNITY_COLLECTIONS or mode not in COMMUNITY_MODES:
                raise ValueError(f"community rights {item!r} not understood: {accepted}")
            modes[name] = mode
        return cls(**modes)

    def mode(self, collection: str) -> str:
        return getattr(self, collection)


DEFAULT_COMMUNITY_RIGHTS = CommunityRights()


def program_release_expr(proposal_column) -> ColumnElement:
    """SQL for a program's effective release (MJD): the admin's override, else
    the latest release of its catalogued products; NULL (unknown, so never
    public) when it has no product or one whose release is undecided."""
    members = products.alias("program_members")
    release = members.c.publicReleaseDate_mjd
    latest = (
        select(case((func.count() == func.count(release), func.max(release))))
        .where(members.c.proposal_id == proposal_column)
        .scalar_subquery()
    )
    override = (
        select(programs.c.release_override_mjd)
        .where(programs.c.proposal_id == proposal_column)
        .scalar_subquery()
    )
    return func.coalesce(override, latest)


def community_release_expr(
    collection: str, proposal_column, policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS
) -> ColumnElement:
    """SQL for the effective release of a community row of ``collection``
    (``public`` collections: MJD 0, released long ago)."""
    if policy.mode(collection) == OPEN:
        return literal(0.0)
    return program_release_expr(proposal_column)


def visible_community(
    collection: str,
    proposal_column,
    user: User,
    policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS,
    at_mjd: float | None = None,
) -> ColumnElement:
    """WHERE clause keeping the rows of a community ``collection`` that ``user``
    may read; ``proposal_column`` holds the program their file names (a string
    without zero padding, like ``products.proposal_id``)."""
    if policy.mode(collection) == OPEN:
        return true()
    return _visible(program_release_expr(proposal_column), proposal_column, user, at_mjd)


def community_visible_mask(
    collection: str,
    user: User,
    proposal_ids: np.ndarray,
    release_mjd: np.ndarray,
    policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS,
    at_mjd: float | None = None,
) -> np.ndarray:
    """:func:`visible_community` over rows held in memory: ``release_mjd`` is the
    program's effective release (:func:`program_release_expr`, NaN where unknown),
    ``proposal_ids`` the programs the files name."""
    if policy.mode(collection) == OPEN:
        return np.ones(np.shape(release_mjd), bool)
    return visible_mask(user, proposal_ids, release_mjd, at_mjd)
