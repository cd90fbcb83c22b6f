"""The duplication check against a brute force with astropy, on both backends.

The truth is computed from the plan files themselves (tests/plans/truth.py).
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

import numpy as np
import pytest
from astropy.time import Time

from tests.plans.truth import brute_force

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _query_points(truth) -> list[tuple[float, float]]:
    rows, sky = truth
    points = [
        (0.0, 0.0), (0.0, -1.2), (359.999, -1.2), (0.001, -1.2005), (359.9975, 0.3712),
        (0.0, 90.0), (180.0, 89.99), (123.0, 89.97), (303.0, 89.97), (37.95, 89.26),
        (0.0, -90.0), (45.0, -89.99), (225.0, -89.97), (359.9, 89.8), (0.1, -89.8),
        (269.4477, 4.7637), (178.2, 37.7),
    ]  # fmt: skip
    picks = np.random.default_rng(18).choice(len(rows), 25, replace=False)
    # planned targets themselves, and points a few arcmin beside them
    points += [(float(sky[i].ra.deg), float(sky[i].dec.deg)) for i in picks[:15]]
    points += [
        (float(sky[i].ra.deg + 0.03) % 360.0, float(np.clip(sky[i].dec.deg - 0.02, -90, 90)))
        for i in picks[15:]
    ]
    return points


def _search(client, **params) -> list[dict]:
    response = client.get("/duplication/api/v0.1/search?" + urlencode(params))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["results"])
    return body["results"]


def _compare(results, expected, border) -> None:
    got = {(r["program"], r["observation"], r["visit"]): r for r in results}
    assert set(got) - border == set(expected) - border
    for key, sep in expected.items():
        if key in got:
            assert got[key]["separation_arcsec"] == pytest.approx(sep, abs=2e-3)
    separations = [r["separation_arcsec"] for r in results]
    assert separations == sorted(separations), "nearest first"


def test_template_radii_equal_brute_force(plans_client, truth):
    total = 0
    for ra, dec in _query_points(truth):
        expected, border = brute_force(truth, ra, dec)
        _compare(_search(plans_client, ra=ra, dec=dec), expected, border)
        total += len(expected)
    assert total > 40, "the query points must find visits, or the test proves nothing"


@pytest.mark.parametrize("radius", [5.0, 300.0, 1800.0])
def test_given_radius_equals_brute_force(plans_client, truth, radius):
    for ra, dec in _query_points(truth):
        expected, border = brute_force(truth, ra, dec, radius=radius)
        _compare(_search(plans_client, ra=ra, dec=dec, radius=radius), expected, border)


def test_filters_equal_brute_force(plans_client, truth):
    templates = ["NIRCam Imaging", "MIRI Imaging"]
    statuses = ["Scheduled", "Flight_ready", "Completed"]
    found_any = False
    for ra, dec in _query_points(truth):
        expected, border = brute_force(truth, ra, dec, 900.0, templates, statuses)
        results = _search(
            plans_client,
            ra=ra,
            dec=dec,
            radius=900,
            template="nircam imaging,MIRI Imaging",
            status="scheduled,flight_ready,Completed",
        )
        _compare(results, expected, border)
        found_any |= bool(expected)
    assert found_any


def test_pole_and_ra0_neighbours_are_found(plans_client):
    """Across the pole and across RA 0: the mock's edge fields find each other."""
    north = {r["target_name"] for r in _search(plans_client, target="NCP-DEEP", radius=250)}
    assert {"NCP-DEEP", "NCP-OPPOSITE"} <= north  # 234" apart, through the pole
    zero = {r["target_name"] for r in _search(plans_client, target="RA0-WEST", radius=40)}
    assert {"RA0-WEST", "RA0-EAST"} <= zero  # 32" apart, across 0h


def test_proper_motion_moves_the_planned_position(plans_client, truth):
    """Barnard's star (10.3"/yr north) is decades from its epoch 2000 at its windows:
    the check compares its moved position, which astropy gives independently."""
    rows, sky = truth
    results = _search(plans_client, target="barnards star", radius=3600)
    stars = [r for r in results if r["target_name"] == "BARNARDS-STAR"]
    assert len(stars) == 3
    for result in stars:
        i = next(
            i
            for i, row in enumerate(rows)
            if (int(row["program"]), int(row["observation"]), int(row["visit"]))
            == (result["program"], result["observation"], result["visit"])
        )
        assert result["s_ra"] == pytest.approx(sky[i].ra.deg, abs=1e-7)
        assert result["s_dec"] == pytest.approx(sky[i].dec.deg, abs=1e-7)
        years = Time(result["t_plan_start"], format="mjd").jyear - 2000.0
        moved = (result["s_dec"] - result["target_dec"]) * 3600.0
        assert moved == pytest.approx(10.32812 * years, rel=2e-3)
        assert result["separation_arcsec"] > 200  # far from the catalogued position
    # a 4" MRS check at the catalogued (epoch 2000) position finds nothing: the star moved
    assert not _search(plans_client, ra=269.4520833, dec=4.6933611, template="MIRI MRS")


def test_answer_fields_and_links(plans_client):
    (first, *_) = _search(plans_client, target="CEERS-EGS", template="NIRSpec MOS")
    assert first["apt_url"] == f"https://www.stsci.edu/jwst/phase2-public/{first['program']}.pdf"
    assert first["calib_level"] == -1
    for field in ("observation", "visit", "template", "optical_elements", "status", "s_ra"):
        assert field in first


def test_csv_and_votable_hold_the_json_rows(plans_client):
    from io import BytesIO

    from astropy.io.votable import parse_single_table

    params = {"ra": 0.0, "dec": -1.2, "radius": 120}
    rows = _search(plans_client, **params)
    assert rows
    text = plans_client.get("/duplication/api/v0.1/search?format=csv&" + urlencode(params)).text
    from_csv = list(csv.DictReader(text.splitlines()))
    assert [int(r["program"]) for r in from_csv] == [r["program"] for r in rows]
    body = plans_client.get("/duplication/api/v0.1/search?format=votable&" + urlencode(params))
    table = parse_single_table(BytesIO(body.content)).to_table()
    assert list(table["visit"]) == [r["visit"] for r in rows]
    assert list(table["target_name"]) == [r["target_name"] for r in rows]


@pytest.mark.parametrize(
    "query, says",
    [
        ("", "missing position"),
        ("ra=12", "both ra and dec"),
        ("ra=abc&dec=1", "cannot read the angle"),
        ("ra=1&dec=95", "dec must be within"),
        ("ra=1&dec=2&radius=-3", "radius must be"),
        ("ra=1&dec=2&radius=nan", "radius must be"),
        ("ra=1&dec=2&radius=1e9", "radius must be"),
        ("ra=1&dec=2&template=NIRSpec%20MOZ", "unknown template"),
        ("ra=1&dec=2&status=done", "unknown status"),
        ("ra=1&dec=2&format=xls", "unknown format"),
    ],
)
def test_bad_input_is_400_saying_what_is_accepted(plans_client, query, says):
    response = plans_client.get("/duplication/api/v0.1/search?" + query)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "ERROR" and says in body["message"]
    assert body["accepted"]


def test_unknown_target_is_404(plans_client):
    response = plans_client.get("/duplication/api/v0.1/search?target=NO-SUCH-TARGET")
    assert response.status_code == 404
    assert "ra=<deg>&dec=<deg>" in response.json()["accepted"]
