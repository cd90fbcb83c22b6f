"""Planned visits through Mashup and ObsCore, as MAST lists them (calib_level -1).

astroquery's ``Observations.query_criteria(calib_level=-1, coordinates=...,
radius=...)`` and pyvo's TAP client run against a live server over the plans
archive (both backends); the truth is the brute force of tests/plans/truth.py
on the plan files. One planned program is made exclusive (a release override
far in the future): its planned rows stay public metadata, as at MAST.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time
from sqlalchemy import update

from tests.live_server import uvicorn_process
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import programs

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::erfa.ErfaWarning"),  # windows past the leap seconds
]

#: A planned visit's footprint is a 1" box around its target: nearer the
#: cone's edge than this (arcsec), the box may or may not touch it.
BOX_BORDER_ARCSEC = 1.5
EXCLUSIVE_PROGRAM = "7001"


def obs_id(row: dict) -> str:
    return f"jw{int(row['program']):05d}{int(row['observation']):03d}{int(row['visit']):03d}"


@pytest.fixture(scope="module")
def plans_server(plans_archive):
    engine = open_catalog(plans_archive.url, create=False)
    with engine.begin() as conn:
        conn.execute(
            update(programs)
            .where(programs.c.proposal_id == EXCLUSIVE_PROGRAM)
            .values(release_override_mjd=1.0e8)
        )
    engine.dispose()
    with uvicorn_process({"WEBBARCHIVE_DB": plans_archive.url}) as server:
        yield server


@pytest.fixture()
def observations(plans_server, monkeypatch):
    """astroquery's Observations pointed at this module's server (whatever server
    astroquery's configuration names), logged out."""
    from astroquery.mast import Observations

    portal = Observations._portal_api_connection
    monkeypatch.setattr(portal, "MAST_REQUEST_URL", f"{plans_server}/api/v0/invoke")
    monkeypatch.setattr(
        portal, "COLUMNS_CONFIG_URL", f"{plans_server}/portal/Mashup/Mashup.asmx/columnsconfig"
    )
    Observations.logout()
    return Observations


def cone_truth(truth, ra: float, dec: float, radius_arcsec: float, border: float):
    """obs_id of the visits whose moved target lies within the cone, and those
    within ``border`` arcsec of its edge (not compared)."""
    rows, sky = truth
    separations = sky.separation(SkyCoord(ra * u.deg, dec * u.deg)).arcsec
    inside = {obs_id(r) for r, s in zip(rows, separations, strict=True) if s <= radius_arcsec}
    edge = {
        obs_id(r) for r, s in zip(rows, separations, strict=True) if abs(s - radius_arcsec) < border
    }
    return inside, edge


POINTS = [
    (0.0, -1.2), (359.999, -1.2), (0.001, 1.5), (359.7, -2.0),
    (0.0, 90.0), (123.0, 89.97), (200.0, 89.8),
    (0.0, -90.0), (225.0, -89.97), (10.0, -89.85),
    (269.4477, 4.7637),
]  # fmt: skip


def _points(truth) -> list[tuple[float, float]]:
    _, sky = truth
    picks = np.random.default_rng(1818).choice(len(sky), 8, replace=False)
    return POINTS + [(float(sky[i].ra.deg), float(sky[i].dec.deg)) for i in picks]


@pytest.mark.parametrize("radius_arcsec", [150.0, 900.0])
def test_query_criteria_finds_the_planned_visits(observations, truth, radius_arcsec):
    rows, _ = truth
    by_id = {obs_id(r): r for r in rows}
    found_any = 0
    for ra, dec in _points(truth):
        table = observations.query_criteria(
            calib_level=-1,
            coordinates=SkyCoord(ra * u.deg, dec * u.deg),
            radius=radius_arcsec * u.arcsec,
        )
        got = set() if table is None else {str(v) for v in table["obs_id"]}
        expected, edge = cone_truth(truth, ra, dec, radius_arcsec, BOX_BORDER_ARCSEC)
        assert got - edge == expected - edge, (ra, dec)
        found_any += len(expected)
        for row in [] if table is None else table:
            plan = by_id[str(row["obs_id"])]
            assert int(row["calib_level"]) == -1
            assert row["target_name"] == plan["target_name"]
            assert str(row["proposal_id"]) == str(int(plan["program"]))
            assert row["filters"] == plan["optical_elements"]
            assert row["t_min"] == pytest.approx(Time(plan["window_start"]).mjd, abs=1e-5)
            assert row["instrument_name"].split("/")[0] == plan["template"].split()[0].upper()
    assert found_any > 20, "the points must find visits, or the test proves nothing"


def test_planned_rows_carry_the_plan_and_no_products(observations, truth, plans_server):
    rows, _ = truth
    mos = next(r for r in rows if r["template"] == "NIRSpec MultiObject Spectroscopy")
    table = observations.query_criteria(
        calib_level=-1, proposal_id=str(int(mos["program"])), target_name=mos["target_name"]
    )
    row = next(r for r in table if r["obs_id"] == obs_id(mos))
    assert (row["instrument_name"], row["dataproduct_type"]) == ("NIRSPEC/MSA", "spectrum")
    assert row["t_max"] == pytest.approx(Time(mos["window_end"]).mjd, abs=1e-5)
    products = httpx.post(
        f"{plans_server}/api/v0/invoke",
        data={
            "request": '{"service": "Mast.Caom.Products", "format": "json", '
            f'"params": {{"obsid": "{row["obsid"]}"}}}}'
        },
    ).json()
    assert products["status"] == "COMPLETE" and products["data"] == []


def test_planned_visits_of_an_exclusive_program_are_public(observations, truth):
    rows, _ = truth
    expected = {obs_id(r) for r in rows if str(int(r["program"])) == EXCLUSIVE_PROGRAM}
    assert expected
    table = observations.query_criteria(calib_level=-1, proposal_id=EXCLUSIVE_PROGRAM)
    assert {str(v) for v in table["obs_id"]} == expected


@pytest.fixture()
def tap(plans_server):
    import pyvo

    return pyvo.dal.TAPService(f"{plans_server}/tap")


def test_obscore_lists_every_planned_visit(tap, truth):
    rows, _ = truth
    result = tap.search(
        "SELECT obs_id, target_name, access_url, instrument_name FROM ivoa.obscore "
        "WHERE calib_level = -1",
        maxrec=100000,
    ).to_table()
    assert sorted(str(v) for v in result["obs_id"]) == sorted(obs_id(r) for r in rows)
    assert all(np.ma.is_masked(v) or not v for v in result["access_url"])


@pytest.mark.parametrize("radius_arcsec", [150.0, 900.0])
def test_obscore_cone_equals_brute_force(tap, truth, radius_arcsec):
    found_any = 0
    for ra, dec in _points(truth):
        result = tap.search(
            "SELECT obs_id FROM ivoa.obscore WHERE calib_level = -1 AND "
            f"CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra!r}, {dec!r}, "
            f"{radius_arcsec / 3600.0!r})) = 1",
            maxrec=100000,
        ).to_table()
        expected, edge = cone_truth(truth, ra, dec, radius_arcsec, 1e-3)
        assert {str(v) for v in result["obs_id"]} - edge == expected - edge, (ra, dec)
        found_any += len(expected)
    assert found_any > 20


def test_ingest_keeps_the_planned_observations(tmp_path, plan_files):
    """Ingest drops observations that hold no products but associations; planned
    visits hold none at all and must stay."""
    from webbarchive.cli import main

    url = str(tmp_path / "catalog.db")
    assert main(["ingest-plans", str(plan_files[0]), "--db", url]) == 0
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), "--db", url]) == 0
    body = tap_count(url)
    assert body == sum(1 for _ in open(plan_files[0])) - 1


def tap_count(url: str) -> int:
    from sqlalchemy import func, select

    from webbarchive.catalog.schema import observations

    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).where(observations.c.calib_level == -1)
        ).scalar_one()
    engine.dispose()
    return count


#: Known ranges (um) of optical elements, from the JWST documentation (JDox):
#: NIRSpec's PRISM/CLEAR and G395H/F290LP dispersers; MIRI MRS's LONG band over its
#: four channels (1C starts at 6.53, 4C ends at 27.90); MIRI's F770W imaging
#: filter (half-power 6.58 to 8.69, the archive approximates every W filter as
#: R = 4 about its name's wavelength, so 0.2 um of slack); MIRI LRS's prism, 5 to 14.
KNOWN_RANGES_UM = {
    ("NIRSpec MultiObject Spectroscopy", "CLEAR;PRISM"): ((0.60, 5.30), 1e-6),
    ("NIRSpec IFU Spectroscopy", "F290LP;G395H"): ((2.87, 5.27), 1e-6),
    ("MIRI Medium Resolution Spectroscopy", "LONG"): ((6.53, 27.90), 1e-6),
    ("MIRI Imaging", "F770W"): ((6.58, 8.69), 0.2),
    ("MIRI Low Resolution Spectroscopy", "P750L"): ((5.0, 14.0), 1e-6),
}


def test_obscore_wavelengths_of_planned_visits(tap, truth):
    """em_min/em_max (m in ObsCore) of planned rows come from their optical elements."""
    rows, _ = truth
    plan = {obs_id(r): r for r in rows}
    result = tap.search(
        "SELECT obs_id, em_min, em_max FROM ivoa.obscore WHERE calib_level = -1", maxrec=100000
    ).to_table()
    seen = set()
    for row in result:
        visit = plan[str(row["obs_id"])]
        known = KNOWN_RANGES_UM.get((visit["template"], visit["optical_elements"]))
        if known is None:
            continue
        (low, high), slack = known
        assert float(row["em_min"]) * 1e6 == pytest.approx(low, abs=slack), visit
        assert float(row["em_max"]) * 1e6 == pytest.approx(high, abs=slack), visit
        seen.add((visit["template"], visit["optical_elements"]))
    assert seen == set(KNOWN_RANGES_UM), "every known element must be among the plans"
    # a NIRCam visit takes a short and a long wavelength filter at once: both within
    nircam = next(r for r in result if plan[str(r["obs_id"])]["optical_elements"] == "F115W;F444W")
    assert float(nircam["em_min"]) < 1.15e-6 and float(nircam["em_max"]) > 4.44e-6
