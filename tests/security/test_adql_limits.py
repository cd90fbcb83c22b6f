"""Queries built to hurt the server get a 400 that states the limit, never a 500.

Found by the adversarial review: 50 nested parentheses or 1,000 ANDs crashed
the translator (Python recursion), CIRCLE with Dec 100 crashed the HEALPix
pre-filter, and on SQLite cones of 8-15 degrees through TAP, SCS and SIA
failed with "Expression tree is too large" (an OR of thousands of cell
ranges). Large cones are checked against astropy's separations over every row
the anonymous caller may see.
"""

from __future__ import annotations

import io
import re

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table
from cdshealpix.nested import cone_search

from webbarchive.catalog.schema import SKY_INDEX_DEPTH
from webbarchive.catalog.sky import MAX_CELL_RANGES, coarsen_ranges, cone_ranges
from webbarchive.vo.adql import MAX_EXPRESSION_DEPTH, MAX_PARENTHESES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _error_text(reply) -> str:
    match = re.search(r'value="ERROR">([^<]*)<', reply.text)
    assert match, f"not an ERROR VOTable: {reply.status_code} {reply.text[:300]}"
    return match.group(1)


def _tap(client, adql: str, fmt: str = "votable"):
    return client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": fmt})


HURTFUL = {
    "50 nested parentheses": (
        "SELECT COUNT(*) FROM ivoa.obscore WHERE " + "(" * 50 + "1=1" + ")" * 50,
        f"limit is {MAX_PARENTHESES}",
    ),
    "1,000 ANDs": (
        "SELECT COUNT(*) FROM ivoa.obscore WHERE " + " AND ".join(["s_ra > 0"] * 1000),
        f"deeper than {MAX_EXPRESSION_DEPTH}",
    ),
    "1,000 ORs": (
        "SELECT COUNT(*) FROM ivoa.obscore WHERE " + " OR ".join(["s_ra > 0"] * 1000),
        f"deeper than {MAX_EXPRESSION_DEPTH}",
    ),
    "CIRCLE with dec 100": (
        "SELECT COUNT(*) FROM ivoa.obscore WHERE "
        "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 100, 1))",
        "[-90, 90]",
    ),
    "CIRCLE with a negative radius": (
        "SELECT COUNT(*) FROM ivoa.obscore WHERE "
        "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 10, -1))",
        "[0, 180]",
    ),
    "POLYGON vertex below the pole": (
        "SELECT COUNT(*) FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, "
        "POLYGON('ICRS', 10, -91, 11, -89, 12, -89))",
        "[-90, 90]",
    ),
}


@pytest.mark.parametrize("case", sorted(HURTFUL))
def test_hurtful_query_is_a_400_that_states_the_limit(eap_client, case):
    adql, limit = HURTFUL[case]
    reply = _tap(eap_client, adql)
    assert reply.status_code == 400, reply.text[:300]
    assert limit in _error_text(reply)


def test_a_query_under_the_limits_still_runs(eap_client):
    adql = (
        "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE "
        + "(" * (MAX_PARENTHESES - 1)
        + " AND ".join(["s_ra > -1"] * 150)
        + ")" * (MAX_PARENTHESES - 1)
    )
    everything = _tap(eap_client, "SELECT COUNT(*) AS n FROM ivoa.obscore", "csv")
    reply = _tap(eap_client, adql, "csv")
    assert reply.status_code == 200, reply.text[:300]
    assert reply.text == everything.text


def _visible_positions(client, where: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reply = _tap(client, f"SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore {where}")
    table = parse_single_table(io.BytesIO(reply.content)).to_table()
    keep = ~np.ma.getmaskarray(table["s_ra"])
    return (
        np.asarray(table["obs_publisher_did"])[keep],
        np.asarray(table["s_ra"], dtype=float)[keep],
        np.asarray(table["s_dec"], dtype=float)[keep],
    )


@pytest.mark.parametrize("radius", [8.0, 12.0, 15.0])
@pytest.mark.parametrize("route", ["tap", "scs", "sia"])
def test_wide_cones_answer_what_astropy_finds(eap_client, route, radius):
    images = "WHERE dataproduct_type IN ('image', 'cube')"  # what SIA serves
    dids, ra, dec = _visible_positions(eap_client, images if route == "sia" else "")
    assert len(dids) > 2, "the archive needs positions to test cones on"
    # centred on a visible row, so the cone holds some rows and misses others
    centre = SkyCoord(ra[0] * u.deg, dec[0] * u.deg)
    inside = centre.separation(SkyCoord(ra * u.deg, dec * u.deg)) <= radius * u.deg
    if route == "tap":
        reply = _tap(
            eap_client,
            "SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 = CONTAINS("
            f"POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra[0]}, {dec[0]}, {radius}))",
        )
    elif route == "scs":
        reply = eap_client.get("/scs", params={"RA": ra[0], "DEC": dec[0], "SR": radius})
    else:
        reply = eap_client.get("/sia/query", params={"POS": f"CIRCLE {ra[0]} {dec[0]} {radius}"})
    assert reply.status_code == 200, reply.text[:300]
    assert 'value="ERROR"' not in reply.text, _error_text(reply)
    table = parse_single_table(io.BytesIO(reply.content)).to_table()
    if route == "tap":
        assert sorted(table["obs_publisher_did"]) == sorted(dids[inside])
    else:
        # SCS and SIA match footprints, a superset of the positions inside
        assert set(dids[inside]) <= set(table["obs_publisher_did"]), route


@pytest.mark.parametrize("radius", [0.01, 2.0, 15.0, 40.0])
def test_coarsened_cells_cover_the_cone(radius):
    ranges = cone_ranges(150.0, 2.0, radius)
    assert len(ranges) <= MAX_CELL_RANGES
    exact = cone_search(150.0 * u.deg, 2.0 * u.deg, radius * u.deg, SKY_INDEX_DEPTH, flat=True)[0]
    starts = np.array([a for a, _ in ranges])
    stops = np.array([b for _, b in ranges])
    slot = np.searchsorted(starts, exact, side="right") - 1
    assert np.all(slot >= 0) and np.all(exact < stops[slot]), "a cone cell fell out"
    covered = int(np.sum(stops - starts))
    # coarser, yet not the whole sky: the pre-filter still prunes
    assert covered < 12 * 4**SKY_INDEX_DEPTH / 2


def test_coarsen_keeps_few_ranges_unchanged():
    ranges = [(0, 4), (8, 9), (9, 12)]
    assert coarsen_ranges(ranges) == [(0, 4), (8, 12)]
    assert coarsen_ranges(ranges, max_ranges=1) == [(0, 16)]
