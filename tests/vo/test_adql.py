"""ADQL over ivoa.obscore on both backends, checked against astropy on the rows
we inserted (brute force), plus the allow-list and MAXREC rules."""

from __future__ import annotations

import os

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.vo.rows import EXCLUSIVE_PROGRAM, fill_catalog
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import ANONYMOUS, User
from webbarchive.vo.adql import AdqlError
from webbarchive.vo.execute import run_query
from webbarchive.vo.obscore import QueryContext

N_OBS = 300
CTX = QueryContext(ANONYMOUS, "http://testserver")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(request, tmp_path_factory):
    """A catalog with N_OBS synthetic observations, once per backend (read-only)."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("adql") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"vo_adql_{os.getpid()}")
    engine = open_catalog(url)
    rows = fill_catalog(engine, N_OBS)
    yield engine, rows
    engine.dispose()


def _cone_truth(rows, ra, dec, radius, user_programs=()):
    coords = SkyCoord([r["s_ra"] for r in rows] * u.deg, [r["s_dec"] for r in rows] * u.deg)
    sep = coords.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg
    return {
        r["obs_id"]
        for r, s in zip(rows, sep, strict=True)
        if s <= radius
        and (r["proposal_id"] != EXCLUSIVE_PROGRAM or r["proposal_id"] in user_programs)
    }


@pytest.mark.parametrize(("ra", "dec", "radius"), [(53.16, -27.78, 0.3), (0.0, 0.0, 0.4)])
def test_cone_matches_astropy(filled, ra, dec, radius):
    engine, rows = filled
    adql = (
        "SELECT obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', "
        f"{ra}, {dec})) AS d FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        f"CIRCLE('ICRS', {ra}, {dec}, {radius}))"
    )
    result = run_query(engine, adql, CTX, maxrec=10_000)
    got = {r[0] for r in result.rows}
    truth = _cone_truth(rows, ra, dec, radius)
    assert truth and got == truth  # the 0,0 cone wraps RA=360
    by_id = {r["obs_id"]: r for r in rows}
    for obs_id, d in result.rows:
        expected = SkyCoord(by_id[obs_id]["s_ra"] * u.deg, by_id[obs_id]["s_dec"] * u.deg)
        assert d == pytest.approx(
            expected.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg, abs=1e-9
        )


def test_distance_predicate_equals_contains(filled):
    engine, _ = filled
    a = run_query(
        engine,
        "SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), "
        "POINT('ICRS', 150.1, 2.2)) < 0.25",
        CTX,
        maxrec=10_000,
    )
    b = run_query(
        engine,
        "SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        "CIRCLE('ICRS', 150.1, 2.2, 0.25))",
        CTX,
        maxrec=10_000,
    )
    assert sorted(a.rows) == sorted(b.rows) and a.rows


def test_exclusive_rows_only_for_their_program(filled):
    engine, rows = filled
    adql = "SELECT obs_id, proposal_id, dataRights FROM ivoa.obscore"
    anonymous = run_query(engine, adql, CTX, maxrec=10_000)
    assert all(r[1] != EXCLUSIVE_PROGRAM for r in anonymous.rows)
    assert {r[2] for r in anonymous.rows} == {"PUBLIC"}
    pi = QueryContext(User(name="pi", programs=frozenset({EXCLUSIVE_PROGRAM})), "http://t")
    mine = run_query(engine, adql, pi, maxrec=10_000)
    exclusive = [r for r in mine.rows if r[1] == EXCLUSIVE_PROGRAM]
    assert len(exclusive) == sum(r["proposal_id"] == EXCLUSIVE_PROGRAM for r in rows)
    assert {r[2] for r in exclusive} == {"EXCLUSIVE_ACCESS"}
    # one science product per observation: auxiliary products are not ObsCore rows
    assert len(mine.rows) == len(rows)


def test_obscore_units_and_access(filled):
    engine, rows = filled
    result = run_query(
        engine,
        "SELECT TOP 1 obs_id, em_min, em_max, access_url, access_estsize, s_fov "
        "FROM ivoa.obscore WHERE obs_id = " + repr(rows[0]["obs_id"]),
        CTX,
        maxrec=10,
    )
    obs_id, em_min, em_max, url, size_kb, fov = result.rows[0]
    assert em_min == pytest.approx(rows[0]["em_min"] * 1e-9)  # nm -> m
    assert em_max == pytest.approx(rows[0]["em_max"] * 1e-9)
    assert url.startswith("http://testserver/api/v0.1/Download/file?uri=mast:JWST/product/")
    assert size_kb == 2  # 2048 bytes
    # square footprint with half side 0.02 deg: diagonal diameter ~ 2*sqrt(2)*0.02
    assert fov == pytest.approx(2 * np.sqrt(2) * 0.02, rel=2e-3)


def test_intersects_region_and_area(filled):
    engine, rows = filled
    target = rows[5]
    adql = (
        "SELECT obs_id, AREA(CIRCLE('ICRS', 0, 0, 1)) FROM ivoa.obscore WHERE "
        f"1 = INTERSECTS(s_region, CIRCLE('ICRS', {target['s_ra']}, {target['s_dec']}, 0.001))"
    )
    result = run_query(engine, adql, CTX, maxrec=100)
    assert target["obs_id"] in {r[0] for r in result.rows}
    # spherical cap of 1 degree: 2 pi (1 - cos 1deg) sr in deg^2
    assert result.rows[0][1] == pytest.approx(
        2 * np.pi * (1 - np.cos(np.radians(1))) * (180 / np.pi) ** 2, rel=1e-6
    )


def test_maxrec_cuts_exactly_and_flags_overflow(filled):
    engine, _ = filled
    result = run_query(engine, "SELECT obs_id FROM ivoa.obscore", CTX, maxrec=7)
    assert len(result.rows) == 7 and result.overflow
    top = run_query(engine, "SELECT TOP 5 obs_id FROM ivoa.obscore", CTX, maxrec=7)
    assert len(top.rows) == 5 and not top.overflow
    top = run_query(engine, "SELECT TOP 5 obs_id FROM ivoa.obscore", CTX, maxrec=3)
    assert len(top.rows) == 3 and top.overflow


@pytest.mark.parametrize(
    ("adql", "fragment"),
    [
        ("SELECT pg_sleep(10) FROM ivoa.obscore", "PG_SLEEP is not supported"),
        ("SELECT obs_id FROM ivoa.obscore; DROP TABLE observations", "exactly one SELECT"),
        ("DELETE FROM observations", "only SELECT"),
        ("SELECT * FROM observations", "unknown table 'observations'"),
        ("SELECT nope FROM ivoa.obscore", "nope"),
        ("SELECT _obsid FROM ivoa.obscore", "_obsid"),
        ("SELECT obs_id FROM ivoa.obscore WHERE", "syntax error"),
        ("SELECT POINT('ICRS', 1, 2) FROM ivoa.obscore", "POINT values can only be used"),
    ],
)
def test_bad_adql_explains(filled, adql, fragment):
    engine, _ = filled
    with pytest.raises(AdqlError) as info:
        run_query(engine, adql, CTX, maxrec=10)
    assert fragment.lower() in str(info.value).lower()


def test_tap_schema_describes_obscore(filled):
    engine, _ = filled
    result = run_query(
        engine,
        "SELECT column_name, unit, ucd FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'",
        CTX,
        maxrec=1000,
    )
    columns = {r[0]: r for r in result.rows}
    assert columns["em_min"][1:] == ("m", "em.wl;stat.min")
    assert columns["access_estsize"][1] == "kbyte"
    assert "_obsid" not in columns
