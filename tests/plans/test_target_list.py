"""The duplication check of a target list (POST and ``webbarchive duplication-check``)
against the astropy brute force, on both backends.

Targets with proper motions are moved by ``SkyCoord.apply_space_motion`` to each
visit's window start here, independently of :mod:`webbarchive.plans.targets`;
the visits' own positions come from tests/plans/truth.py.
"""

from __future__ import annotations

import csv
import io
import json
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from tests.plans.truth import BORDER_ARCSEC, DOCUMENTED_RADIUS, OTHER

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::erfa.ErfaWarning"),
]
ROUTE = "/duplication/api/v0.1/search"


def _targets(truth) -> list[dict]:
    rows, sky = truth
    fixed = [
        (0.0, -1.2), (359.999, -1.2), (0.001, -1.2005), (0.0, 90.0), (123.0, 89.97),
        (0.0, -90.0), (225.0, -89.97), (359.9, 89.8), (0.1, -89.8),
    ]  # fmt: skip
    targets = [
        {"target_name": f"FIXED-{i}", "ra": ra, "dec": dec} for i, (ra, dec) in enumerate(fixed)
    ]
    picks = np.random.default_rng(33).choice(len(rows), 12, replace=False)
    targets += [
        {"target_name": f"PICK-{i}", "ra": float(sky[i].ra.deg), "dec": float(sky[i].dec.deg)}
        for i in picks
    ]
    # moving targets: Barnard's star at its catalogue place (found only once moved),
    # and fast movers beside RA 0 and the poles
    targets += [
        {"target_name": "BARNARD", "ra": 269.4520833, "dec": 4.6933611,
         "pm_ra": -798.58, "pm_dec": 10328.12, "epoch": 2000.0},
        {"target_name": "MOVER-RA0", "ra": 359.998, "dec": -1.2, "pm_ra": 3000.0,
         "pm_dec": 0.0, "epoch": 2010.0},
        {"target_name": "MOVER-NCP", "ra": 123.0, "dec": 89.96, "pm_ra": 0.0,
         "pm_dec": 2000.0, "epoch": 2015.5},
        {"target_name": "MOVER-SCP", "ra": 45.0, "dec": -89.975, "pm_ra": -1500.0,
         "pm_dec": -1500.0, "epoch": 2000.0},
    ]  # fmt: skip
    return targets


def brute_force(truth, targets, radius=None):
    """{(target index, program, observation, visit): (separation, ra, dec at visit)}
    and the keys within BORDER_ARCSEC of the radius."""
    rows, sky = truth
    starts = Time([row["window_start"] for row in rows], scale="utc")
    limits = np.array(
        [radius or DOCUMENTED_RADIUS.get(row["template"], OTHER) for row in rows], dtype=float
    )
    found, border = {}, set()
    for index, target in enumerate(targets, 1):
        if target.get("pm_ra") is not None:
            coord = SkyCoord(
                target["ra"] * u.deg,
                target["dec"] * u.deg,
                pm_ra_cosdec=target["pm_ra"] * u.mas / u.yr,
                pm_dec=target["pm_dec"] * u.mas / u.yr,
                obstime=Time(target["epoch"], format="jyear"),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                at = coord.apply_space_motion(new_obstime=starts)
        else:
            at = SkyCoord(np.full(len(rows), target["ra"]) * u.deg,
                          np.full(len(rows), target["dec"]) * u.deg)  # fmt: skip
        separations = at.separation(sky).arcsec
        for i in np.flatnonzero(separations <= limits + BORDER_ARCSEC):
            row = rows[i]
            key = (index, int(row["program"]), int(row["observation"]), int(row["visit"]))
            if abs(separations[i] - limits[i]) < BORDER_ARCSEC:
                border.add(key)
            else:
                found[key] = (float(separations[i]), at[i].ra.deg, at[i].dec.deg)
    return found, border


def _keyed(rows) -> dict:
    return {
        (int(r["query_index"]), int(r["program"]), int(r["observation"]), int(r["visit"])): r
        for r in rows
    }


def _compare(rows, expected, border) -> None:
    got = _keyed(rows)
    assert set(got) - border == set(expected) - border
    for key, (separation, ra, dec) in expected.items():
        row = got[key]
        assert float(row["separation_arcsec"]) == pytest.approx(separation, abs=2e-3)
        at = SkyCoord(
            float(row["query_ra_at_visit"]) * u.deg, float(row["query_dec_at_visit"]) * u.deg
        )
        assert at.separation(SkyCoord(ra * u.deg, dec * u.deg)).arcsec < 1e-3


def _post_json(client, targets, **params) -> list[dict]:
    response = client.post(ROUTE, params=params, json={"targets": targets})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == sum(t["count"] for t in body["targets"])
    assert [t["name"] for t in body["targets"]] == [t["target_name"] for t in targets]
    return [row for t in body["targets"] for row in t["results"]]


def _as_csv(targets) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, ["target_name", "ra", "dec", "pm_ra", "pm_dec", "epoch"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(targets)
    return buffer.getvalue()


def test_target_list_equals_brute_force(plans_client, truth):
    targets = _targets(truth)
    expected, border = brute_force(truth, targets)
    _compare(_post_json(plans_client, targets), expected, border)
    moving = {key[0] for key in expected if targets[key[0] - 1].get("pm_ra") is not None}
    assert len(moving) >= 3, "moving targets must find visits, or the test proves little"
    assert len({key[0] for key in expected}) > 15


def test_given_radius_equals_brute_force(plans_client, truth):
    targets = _targets(truth)
    expected, border = brute_force(truth, targets, radius=700.0)
    _compare(_post_json(plans_client, targets, radius=700), expected, border)


def test_csv_body_multipart_and_formats_agree(plans_client, truth):
    targets = _targets(truth)
    from_json = _keyed(_post_json(plans_client, targets))
    text = _as_csv(targets)
    body = plans_client.post(
        ROUTE, params={"format": "csv"}, content=text, headers={"content-type": "text/csv"}
    )
    assert body.status_code == 200, body.text
    from_csv = _keyed(csv.DictReader(io.StringIO(body.text)))
    assert set(from_csv) == set(from_json)
    upload = plans_client.post(
        ROUTE, params={"format": "votable"}, files={"file": ("targets.csv", text, "text/csv")}
    )
    assert upload.status_code == 200, upload.text
    from astropy.io.votable import parse_single_table

    table = parse_single_table(io.BytesIO(upload.content)).to_table()
    assert set(_keyed(table)) == set(from_json)


def test_command_line_writes_the_same_rows(plans_archive, plans_client, truth, tmp_path, capsys):
    from webbarchive.cli import main

    targets = _targets(truth)
    path = tmp_path / "targets.csv"
    path.write_text(_as_csv(targets))
    out = tmp_path / "out.csv"
    assert main(["duplication-check", str(path), "--db", plans_archive.url, "-o", str(out)]) == 0
    assert f"{len(targets)} targets" in capsys.readouterr().err
    from_cli = _keyed(csv.DictReader(out.open()))
    assert set(from_cli) == set(_keyed(_post_json(plans_client, targets)))
    votable = tmp_path / "out.xml"
    code = main(["duplication-check", str(path), "--db", plans_archive.url, "--format",
                 "votable", "-o", str(votable), "--quiet", "--template", "NIRCam Imaging"])  # fmt: skip
    assert code == 0
    from astropy.io.votable import parse_single_table

    table = parse_single_table(str(votable)).to_table()
    assert set(table["template"]) <= {"NIRCam Imaging"} and len(table)


def test_command_line_refuses_a_bad_list(plans_archive, tmp_path, capsys):
    from webbarchive.cli import main

    path = tmp_path / "targets.csv"
    path.write_text("name,ra,dec\nA,12,95\n")
    assert main(["duplication-check", str(path), "--db", plans_archive.url]) == 2
    assert "dec" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, says",
    [
        ("", "empty"),
        ("name,x,y\nA,1,2\n", "needs ra and dec"),
        ("name,ra,dec\nA,abc,2\n", "target 1"),
        ("name,ra,dec\nA,1,2\nB,1,\n", "target 2: ra and dec are required"),
        ("name,ra,dec,pm_ra\nA,1,2,5\n", "both pm_ra and pm_dec"),
        ('{"targets": 3}', "JSON must be a list"),
        ("[{", "not valid JSON"),
        ("ra,dec\n" + "1,2\n" * 10001, "at most 10000"),
    ],
)
def test_bad_lists_are_400(plans_client, content, says):
    response = plans_client.post(ROUTE, content=content, headers={"content-type": "text/csv"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert says in body["message"] and body["accepted"]


def test_bad_filters_and_forms_are_400(plans_client):
    response = plans_client.post(ROUTE, params={"radius": "-1"}, content="ra,dec\n1,2\n")
    assert response.status_code == 400 and "radius" in response.json()["message"]
    response = plans_client.post(ROUTE, data={"other": "x"})
    assert response.status_code == 400 and "no target list" in response.json()["message"]
    response = plans_client.post(
        ROUTE, content=b"\xff\xfe\x00", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 400


def test_json_body_as_a_bare_list(plans_client):
    body = json.dumps([{"name": "RA0", "ra": "23:59:59.6", "dec": "-01:12:00"}])
    response = plans_client.post(ROUTE, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    names = {row["target_name"] for row in response.json()["targets"][0]["results"]}
    assert "RA0-WEST" in names


def test_every_reading_path_equals_brute_force(plans_archive, truth, monkeypatch):
    """The target list read as one declination range (more bands than MAX_BANDS),
    matched in chunks of 3 targets, full rows fetched 7 at a time, with the
    optical-element and template filters: still the brute force, and progress
    counts every target once."""
    from webbarchive.catalog.db import open_catalog
    from webbarchive.plans import crossmatch
    from webbarchive.plans.query import parse_filters
    from webbarchive.plans.targets import check_targets, read_targets

    targets = _targets(truth)
    rows, _ = truth
    expected, border = brute_force(truth, targets)
    monkeypatch.setattr(crossmatch, "MAX_BANDS", 1)
    monkeypatch.setattr(crossmatch, "FETCH_CHUNK", 7)
    original = crossmatch.match
    monkeypatch.setattr(
        "webbarchive.plans.targets.match", lambda *a, **k: original(*a, **k, chunk=3)
    )
    done = []
    with open_catalog(plans_archive.url).connect() as conn:
        found = check_targets(conn, read_targets(_as_csv(targets)), progress=done.append)
        assert sum(done) == len(targets) and len(done) > 1
        _compare(found, expected, border)
        # a filter on the optical elements and the template keeps the same visits as
        # filtering the brute force's
        by_key = {(int(r["program"]), int(r["observation"]), int(r["visit"])): r for r in rows}
        template = "NIRCam Imaging"
        element = next(
            by_key[k[1:]]["optical_elements"].split(";")[0]
            for k in sorted(expected)
            if by_key[k[1:]]["template"] == template and by_key[k[1:]]["optical_elements"]
        )
        wanted = {
            (int(r["program"]), int(r["observation"]), int(r["visit"]))
            for r in rows
            if element in r["optical_elements"].split(";") and r["template"] == template
        }
        filtered = check_targets(
            conn, read_targets(_as_csv(targets)), parse_filters(template, element.lower())
        )
    keep = {k for k in expected if k[1:] in wanted}
    assert keep and len(keep) < len(expected), "the filter must keep some matches, not all"
    _compare(filtered, {k: expected[k] for k in keep}, border)
