"""The VO services over HTTP on a live uvicorn server (both backends):
STILTS taplint and votlint, and pyvo clients compared with astropy brute force."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from tests.live_server import uvicorn_process
from tests.vo.rows import EXCLUSIVE_PROGRAM, fill_catalog
from webbarchive.catalog.db import open_catalog

N_OBS = 300
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    """(base_url, observation rows) of a uvicorn server over a filled catalog."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("vo") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"vo_live_{os.getpid()}")
    engine = open_catalog(url)
    rows = fill_catalog(engine, N_OBS)
    engine.dispose()
    with uvicorn_process({"WEBBARCHIVE_DB": url}, ready="/tap/availability") as base:
        yield base, rows


def _public(rows):
    return [r for r in rows if r["proposal_id"] != EXCLUSIVE_PROGRAM]


def _within(rows, ra, dec, radius):
    coords = SkyCoord([r["s_ra"] for r in rows] * u.deg, [r["s_dec"] for r in rows] * u.deg)
    sep = coords.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg
    return {r["obs_id"] for r, s in zip(rows, sep, strict=True) if s <= radius}


def _votlint(body: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "out.vot"
    path.write_bytes(body)
    out = subprocess.run(["stilts", "votlint", str(path)], capture_output=True, text=True)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("ERROR")]


needs_stilts = pytest.mark.skipif(shutil.which("stilts") is None, reason="stilts not installed")


@needs_stilts
def test_taplint_reports_no_errors_or_failures(live, tmp_path):
    base, _ = live
    # LOC is ObsLocTAP (observation planning), which an archive does not serve.
    out = subprocess.run(
        ["stilts", "taplint", f"tapurl={base}/tap", "stages=-LOC", "format=json",
         "report=EWF", "maxrepeat=3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    bad = [
        (s["code"], r.get("code"), r.get("text"))
        for s in report["sections"]
        for r in s["reports"]
        if r.get("level") in ("ERROR", "FAILURE")
    ]
    assert report["totals"].get("ERROR", 0) == 0 and report["totals"].get("FAILURE", 0) == 0, bad
    stage_codes = {s["code"] for s in report["sections"]}
    assert {"TMV", "CAP", "QGE", "QAS", "UWS", "OBS", "UPL", "EXA"} <= stage_codes


@needs_stilts
@pytest.mark.parametrize(
    "path",
    [
        "/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+20+*+FROM+ivoa.obscore",
        "/tap/sync?LANG=ADQL&RESPONSEFORMAT=votable/td&QUERY=SELECT+TOP+20+*+FROM+ivoa.obscore",
        "/tap/sync?LANG=ADQL&RESPONSEFORMAT=votable/b2&MAXREC=3&QUERY=SELECT+*+FROM+TAP_SCHEMA.columns",
        "/tap/sync?LANG=ADQL&QUERY=SELECT+nope+FROM+ivoa.obscore",
        "/scs?RA=53.16&DEC=-27.78&SR=0.3",
        "/scs?RA=530&DEC=-27.78&SR=0.3",
        "/sia/query?POS=CIRCLE+53.16+-27.78+0.3&BAND=1e-6+3e-6",
        "/ssa?REQUEST=queryData&POS=150.1,2.2&SIZE=1",
    ],
)
def test_every_votable_passes_votlint(live, tmp_path, path):
    base, _ = live
    try:
        body = urllib.request.urlopen(base + path, timeout=30).read()
    except urllib.error.HTTPError as exc:  # error documents come with 400
        assert exc.code == 400
        body = exc.read()
        assert b'value="ERROR"' in body
    assert _votlint(body, tmp_path) == []


def test_pyvo_tap_sync_async_maxrec_upload(live):
    import pyvo

    base, rows = live
    tap = pyvo.dal.TAPService(base + "/tap")
    adql = (
        "SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        "CIRCLE('ICRS', 214.9, 52.9, 0.4))"
    )
    truth = _within(_public(rows), 214.9, 52.9, 0.4)
    sync = tap.search(adql)
    assert set(sync.to_table()["obs_id"]) == truth and sync.query_status == "OK"
    job = tap.submit_job(adql).run().wait(timeout=60)
    assert job.phase == "COMPLETED"
    assert set(job.fetch_result().to_table()["obs_id"]) == truth
    job.delete()
    cut = tap.search("SELECT obs_id FROM ivoa.obscore", maxrec=5)
    assert len(cut) == 5 and cut.query_status == "OVERFLOW"
    mine = Table({"want": [rows[0]["obs_id"], rows[1]["obs_id"], "absent"]})
    joined = tap.search(
        "SELECT o.obs_id FROM ivoa.obscore AS o JOIN TAP_UPLOAD.mine AS m ON o.obs_id = m.want",
        uploads={"mine": mine},
    )
    assert set(joined.to_table()["obs_id"]) == {rows[0]["obs_id"], rows[1]["obs_id"]}
    with pytest.raises(pyvo.dal.DALQueryError, match="unknown table"):
        tap.search("SELECT * FROM observations")


def test_pyvo_cone_search(live):
    import pyvo

    base, rows = live
    result = pyvo.dal.SCSService(base + "/scs").search(pos=(150.1, 2.2), radius=0.35)
    assert set(result.to_table()["obs_id"]) == _within(_public(rows), 150.1, 2.2, 0.35)


def test_pyvo_sia2(live):
    import pyvo

    base, rows = live
    sia = pyvo.dal.SIA2Service(base + "/sia")
    result = sia.search(pos=(53.16 * u.deg, -27.78 * u.deg, 0.3 * u.deg), band=(1e-6, 2.5e-6))
    got = set(result.to_table()["obs_id"])
    # Truth: images/cubes whose band overlaps and whose square footprint (dense
    # samples, astropy separations) comes within 0.3 deg of the centre.
    centre = SkyCoord(53.16 * u.deg, -27.78 * u.deg)
    truth, borderline = set(), set()
    grid = np.linspace(-1, 1, 41)
    for r in _public(rows):
        if r["dataproduct_type"] not in ("image", "cube"):
            continue
        if not (r["em_min"] * 1e-9 <= 2.5e-6 and r["em_max"] * 1e-9 >= 1e-6):
            continue
        words = r["s_region"].split()[2:]
        decs = np.array(words[1::2], float)
        half = (decs.max() - decs.min()) / 2
        gx, gy = np.meshgrid(grid, grid)
        pts = SkyCoord(
            (r["s_ra"] + gx.ravel() * half / np.cos(np.radians(r["s_dec"]))) * u.deg,
            (r["s_dec"] + gy.ravel() * half) * u.deg,
        )
        d = pts.separation(centre).deg.min()
        if abs(d - 0.3) < 0.002:
            borderline.add(r["obs_id"])
        elif d <= 0.3:
            truth.add(r["obs_id"])
    assert truth and truth <= got and got - truth <= borderline


def test_pyvo_ssa(live):
    import pyvo

    base, rows = live
    ssa = pyvo.dal.SSAService(base + "/ssa")
    result = ssa.search(pos=SkyCoord(150.1 * u.deg, 2.2 * u.deg), diameter=0.8 * u.deg)
    truth = {r["obs_id"] for r in _public(rows) if r["dataproduct_type"] == "spectrum"} & _within(
        _public(rows), 150.1, 2.2, 0.4
    )
    table = result.to_table()
    assert set(table["obs_id"]) == truth and truth
    assert all(rec.acref.startswith(base + "/api/v0.1/Download/file?uri=") for rec in result)


def test_sync_formats_agree(live):
    base, _ = live
    query = "SELECT+TOP+10+obs_id,s_ra,calib_level+FROM+ivoa.obscore+ORDER+BY+obs_id"
    tables = {}
    for fmt, reader in (
        ("votable", "votable"),
        ("votable/td", "votable"),
        ("csv", "ascii.csv"),
        ("tsv", "ascii.tab"),
        ("fits", "fits"),
    ):
        body = urllib.request.urlopen(
            f"{base}/tap/sync?LANG=ADQL&RESPONSEFORMAT={fmt}&QUERY={query}", timeout=30
        ).read()
        tables[fmt] = Table.read(io.BytesIO(body), format=reader)
    body = json.loads(
        urllib.request.urlopen(
            f"{base}/tap/sync?LANG=ADQL&RESPONSEFORMAT=json&QUERY={query}", timeout=30
        ).read()
    )
    reference = [str(v) for v in tables["votable"]["obs_id"]]
    assert len(reference) == 10
    for fmt, table in tables.items():
        assert [str(v) for v in table["obs_id"]] == reference, fmt
    assert [row[0] for row in body["data"]] == reference
