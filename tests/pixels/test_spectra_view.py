"""The in-memory view of the catalog's spectra against the catalog's own SQL.

The view (numpy masks) must keep exactly the spectra the SQL candidates
statement keeps, for every kind of user and product filter, and must notice
every change to the rows that decide rights, on both backends.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, update

from tests.pixels.synthetic import FUTURE_MJD, PAST_MJD, build_archive
from webbarchive.catalog import generation
from webbarchive.catalog.rights import ANONYMOUS, User
from webbarchive.catalog.schema import observations, products, programs
from webbarchive.pixels import candidates_sql
from webbarchive.pixels.candidates_sql import candidates_statement
from webbarchive.pixels.query import _cone_obsids, parse
from webbarchive.pixels.spectra import view


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory):
    return build_archive(request, tmp_path_factory, "spectraview")


USERS = {
    "anonymous": ANONYMOUS,
    "stranger": User(name="stranger", programs=frozenset({"4242"})),
    "pi of 2000": User(name="pi", programs=frozenset({"2000"})),
    "admin": User(name="admin", admin=True),
}

QUERIES = [
    "wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5",
    "flux.gte=5",
    "derSnr.ne=0",
    "wavelength=0.9,2&instrument=NIRSPEC&grating=G140M",
    "wavelength=3,13&program=jw02000,1001",
    "wavelength.lt=5.1&target=target-2",
    "filter=F100LP,P750L&derSnr.lte=20",
    "exp_type=MIR_LRS-FIXEDSLIT",
    "instrument=MIRI/LRS",
    "flux.gte=5&ra=12&dec=-5&radius=0.02",
    "productType=s2d&flux.gte=1",
]


def _sql_ids(archive, parsed, user) -> set[int]:
    obsids = _cone_obsids(archive.engine, parsed)
    with archive.engine.connect() as conn:
        return set(conn.execute(candidates_statement(parsed, user, obsids)).scalars())


def _view_ids(archive, parsed, user) -> set[int]:
    spectra = view(archive.engine)
    keep = spectra.allowed(parsed, user, _cone_obsids(archive.engine, parsed))
    keep &= spectra.may_match(parsed.predicates)
    return set(spectra.product_id[keep].tolist())


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("who", list(USERS))
def test_view_keeps_what_the_sql_keeps(archive, query, who):
    parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
    assert _view_ids(archive, parsed, USERS[who]) == _sql_ids(archive, parsed, USERS[who])


def test_cases_are_not_vacuous(archive):
    """Each user sees a different set, and filters select strict subsets."""
    everything = parse([("flux.gte", "-1e30")])
    seen = {who: _view_ids(archive, everything, u) for who, u in USERS.items()}
    assert seen["anonymous"] == seen["stranger"] < seen["pi of 2000"] == seen["admin"]
    for query in QUERIES[3:9]:
        parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
        assert 0 < len(_view_ids(archive, parsed, USERS["admin"])) < len(seen["admin"]), query


def test_every_watched_change_moves_the_generation(archive):
    engine = archive.engine
    with engine.connect() as conn:
        before = generation.current(conn)
    with engine.begin() as conn:
        conn.execute(insert(programs).values(proposal_id="7777"))
    with engine.connect() as conn:
        after_insert = generation.current(conn)
    with engine.begin() as conn:
        conn.execute(update(observations).where(observations.c.obsid < 0).values(target_name="x"))
    with engine.connect() as conn:
        after_empty_update = generation.current(conn)
    with engine.begin() as conn:
        conn.execute(delete(programs).where(programs.c.proposal_id == "7777"))
    with engine.connect() as conn:
        after_delete = generation.current(conn)
    assert before[0] == after_delete[0]  # the same catalog instance
    assert before[1] < after_insert[1] <= after_empty_update[1] < after_delete[1]


def test_a_release_override_shows_at_once_and_hides_again(archive):
    """An admin moving program 2000's release is seen by the next search (no stale view)."""
    engine = archive.engine
    parsed = parse([("flux.gte", "-1e30")])
    eap = {i for i, p in enumerate(archive.items) if p.program == "2000"}
    assert eap
    hidden = _view_ids(archive, parsed, ANONYMOUS)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(programs)
                .where(programs.c.proposal_id == "2000")
                .values(release_override_mjd=PAST_MJD)
            )
        shown = _view_ids(archive, parsed, ANONYMOUS)
        assert shown > hidden and shown == _sql_ids(archive, parsed, ANONYMOUS)
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(programs)
                .where(programs.c.proposal_id == "2000")
                .values(release_override_mjd=None)
            )
    assert _view_ids(archive, parsed, ANONYMOUS) == hidden


def test_a_product_release_date_change_is_seen(archive):
    engine = archive.engine
    parsed = parse([("flux.gte", "-1e30")])
    public = _view_ids(archive, parsed, ANONYMOUS)
    target = min(public)
    with engine.begin() as conn:
        conn.execute(
            update(products)
            .where(products.c.product_id == target)
            .values(publicReleaseDate_mjd=FUTURE_MJD)
        )
    try:
        assert _view_ids(archive, parsed, ANONYMOUS) == public - {target}
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(products)
                .where(products.c.product_id == target)
                .values(publicReleaseDate_mjd=PAST_MJD)
            )
    assert _view_ids(archive, parsed, ANONYMOUS) == public


@pytest.mark.parametrize("who", ["anonymous", "pi of 2000", "admin"])
def test_shown_statement_is_the_candidates_sql_at_the_request_time(archive, monkeypatch, who):
    """The statement shown to the user (compiled once per shape, the time put in
    per request) is the candidates SQL at that time, and selects what the view
    selected."""
    parsed = parse([("wavelength", "1,2"), ("flux.gte", "5"), ("grating", "G140M")])
    user = USERS[who]
    for moment in (60_000.25, 61_000.5):  # two requests, one cached shape
        monkeypatch.setattr(candidates_sql, "now_mjd", lambda moment=moment: moment)
        shown = candidates_sql.shown_candidates(archive.engine, parsed, user)
        direct = candidates_sql.literal_sql(
            candidates_statement(parsed, user, at_mjd=moment), archive.engine.dialect
        )
        assert shown == direct
        if not user.admin:
            assert repr(moment) in shown
    # release dates are 59,000 or 99,000: at 61,000.5 rights are those of today
    if archive.engine.dialect.name == "postgresql":
        shown = shown.replace("%", "%%")  # psycopg reads % as a placeholder
    with archive.engine.connect() as conn:
        ran = set(conn.exec_driver_sql(shown).scalars())
    assert ran and ran == _view_ids(archive, parsed, user)
