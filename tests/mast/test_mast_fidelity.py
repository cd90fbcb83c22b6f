"""Values and types as MAST's, on the mock archive plus the real files, both backends.

Truths: MAST's published examples (the ``mast_doc_examples`` fixture,
seed 000), the products' own FITS headers read with astropy, and astropy
separations. The mock writes ``jw01039-o004_t001_miri_ch3-long_x1d.fits``, the
product of MAST's examples.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from sqlalchemy import select

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.schema import keywords, products

EXAMPLE = "jw01039-o004_t001_miri_ch3-long_x1d.fits"
SEARCH = "/search/jwst/api/v0.1/search"
#: The observation identifiers whose MAST type differs from the header's.
IDENTIFIERS = ("program", "observtn", "visit", "exposure", "visitgrp", "act_id", "seq_id")


def _example(mast_doc_examples: Path, name: str) -> dict:
    path = mast_doc_examples / name
    if not path.is_file():
        pytest.skip(f"MAST's published example {path.name} is absent")
    return json.loads(path.read_text())


def _mashup(client, service: str, columns: str, filters: list[dict]) -> dict:
    request = {
        "service": service,
        "params": {"columns": columns, "filters": filters},
        "format": "json",
    }
    response = client.post("/api/v0/invoke", data={"request": json.dumps(request)})
    assert response.status_code == 200, response.text
    return response.json()


def _header(path: str) -> fits.Header:
    """The primary header, or an empty one for a file astropy cannot open (the
    MSA CSV catalogues and other non-FITS products)."""
    try:
        return fits.getheader(path)
    except OSError:
        return fits.Header()


def _public_files(url: str) -> list[dict]:
    now = now_mjd()
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                select(products.c.product_id, products.c.fileSetName, products.c.path).where(
                    products.c.fileSetName.is_not(None),
                    products.c.publicReleaseDate_mjd <= now,
                )
            ).mappings()
        ]
    engine.dispose()
    return rows


# --- item 5: types as MAST's, one table for every service ----------------------------


def test_keywords_search_types_are_mast_types(client, mast_doc_examples):
    mast = _example(mast_doc_examples, "keywords_search_jw01039-o004_t001_miri_ch3-long_x1d.json")
    ours = client.get("/viz/api/v0.1/keywords/search", params={"uri": EXAMPLE}).json()
    compared = [k for k, v in mast.items() if v is not None and ours.get(k) is not None]
    assert set(IDENTIFIERS) <= set(compared)
    wrong = {k: (mast[k], ours[k]) for k in compared if type(mast[k]) is not type(ours[k])}
    assert not wrong
    assert (mast["program"], mast["observtn"], mast["visit"]) == (
        ours["program"],
        ours["observtn"],
        ours["visit"],
    )
    assert isinstance(ours["visitgrp"], str) and len(ours["visitgrp"]) == len(mast["visitgrp"])


def test_every_service_types_identifiers_alike(client, mast_doc_examples):
    """viz, Mast.Jwst.Filtered.Miri and MastMissions show the same typed values."""
    mast = _example(mast_doc_examples, "keywords_search_jw01039-o004_t001_miri_ch3-long_x1d.json")
    viz = client.get("/viz/api/v0.1/keywords/search", params={"uri": EXAMPLE}).json()
    mashup = _mashup(
        client,
        "Mast.Jwst.Filtered.Miri",
        "filename,fileSetName," + ",".join(IDENTIFIERS),
        [{"paramName": "program", "values": [str(mast["program"])]}],
    )
    row = next(r for r in mashup["data"] if r["filename"] == EXAMPLE)
    fields = {f["name"]: f["type"] for f in mashup["fields"]}
    missions = client.post(
        SEARCH,
        json={
            "conditions": [{"fileSetName": row["fileSetName"]}, {"program": mast["program"]}],
            "select_cols": list(IDENTIFIERS),
        },
    ).json()
    assert missions["totalResults"] == 1
    found = missions["results"][0]
    info = {i["name"]: i["type"] for i in missions["info"]}
    for name in IDENTIFIERS:
        assert type(row[name]) is type(mast[name]) is type(viz[name]) is type(found[name]), name
        as_int = isinstance(mast[name], int)
        assert fields[name] == ("int" if as_int else "string"), name
        assert info[name] == ("INTEGER" if as_int else "VARCHAR"), name


def test_real_headers_typed_as_mast(client, real_dir):
    path = real_dir / "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
    if not path.is_file():
        pytest.skip(f"{path.name} is absent")
    header = fits.getheader(path)
    ours = client.get("/viz/api/v0.1/keywords/search", params={"uri": path.name}).json()
    for name in ("program", "observtn", "visit", "exposure"):
        assert ours[name] == int(header[name.upper()]), name
    for name in ("visitgrp", "act_id", "seq_id"):
        assert ours[name] == header[name.upper()], name
    # numbers compare as numbers: the header's zero-padded '02736' is found by 2736
    result = client.post(
        SEARCH, json={"conditions": [{"program": "2700..2740"}, {"observtn": "<8"}]}
    ).json()
    assert "jw02736-o007_s06355_nirspec" in {r["fileSetName"] for r in result["results"]}


def test_parameters_obstype_and_proposal_type_as_mast(client, mast_doc_examples):
    mast = _example(mast_doc_examples, "parameters_jw01039-o004_t001_miri_ch3-long_x1d.json")
    ours = client.get("/viz/api/v0.1/parameters", params={"uri": EXAMPLE}).json()
    assert (ours["obsType"], ours["proposal_type"]) == (mast["obsType"], mast["proposal_type"])


def test_obstype_follows_the_headers(client, archive_url):
    """obsType of each public product's observation against EXPRIPAR / VISITYPE
    read from the file itself."""
    checked = 0
    for file in _public_files(archive_url):
        header = _header(file["path"])
        marks = [str(header.get(k, "")).upper() for k in ("EXPRIPAR", "VISITYPE")]
        expected = next(
            (kind for mark in marks for kind in ("PRIME", "PARALLEL") if mark.startswith(kind)),
            None,
        )
        if expected is None:
            continue
        name = Path(file["path"]).name
        params = client.get("/viz/api/v0.1/parameters", params={"uri": name}).json()
        assert params["obsType"] == expected, name
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("keywords_", "expected"),
    [
        ({"expripar": "PARALLEL_PURE", "visitype": "PARALLEL_PURE"}, "PARALLEL"),
        ({"expripar": "PARALLEL_COORDINATED", "visitype": "PRIME_TARGETED_FIXED"}, "PARALLEL"),
        ({"expripar": "PRIME"}, "PRIME"),
        ({"visitype": "PRIME_TARGETED_FIXED"}, "PRIME"),
        ({}, None),
    ],
)
def test_obs_type_rule(keywords_, expected):
    from webbarchive.ingest.observation import obs_type

    # A coordinated parallel's visit is a prime visit: the exposure's own mark wins.
    assert obs_type(keywords_) == expected


# --- item 4: MastMissions datasets of several configurations, ang_sep --------------


def test_dataset_found_by_each_of_its_configurations(client, archive_url):
    by_dataset: dict[str, set[str]] = defaultdict(set)
    for file in _public_files(archive_url):
        grating = _header(file["path"]).get("GRATING")
        if grating:
            by_dataset[file["fileSetName"]].add(grating.strip())
    mixed = {d: g for d, g in by_dataset.items() if len(g) > 1}
    if not mixed:
        pytest.skip("no dataset with files of several gratings in this archive")
    for dataset, gratings in mixed.items():
        for grating in gratings:
            result = client.post(
                SEARCH,
                json={
                    "conditions": [{"grating": grating}],
                    "select_cols": ["grating"],
                    "limit": 50000,
                },
            ).json()
            rows = {r["fileSetName"]: r for r in result["results"]}
            assert dataset in rows, (dataset, grating)
            assert rows[dataset]["grating"] == grating


def _targets(url: str) -> dict[int, tuple[float, float]]:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        found: dict[int, dict[str, float]] = defaultdict(dict)
        for pid, name, num in conn.execute(
            select(keywords.c.product_id, keywords.c.name, keywords.c.num).where(
                keywords.c.name.in_(["targ_ra", "targ_dec"])
            )
        ):
            if num is not None:
                found[pid][name] = num
    engine.dispose()
    return {p: (v["targ_ra"], v["targ_dec"]) for p, v in found.items() if len(v) == 2}


def test_ang_sep_is_the_distance_to_the_reported_position(client, archive_url, real_dir):
    """Around the real jw02736 slit source (SRCRA/SRCDEC, 1.1' from its TARG_RA):
    every row's ang_sep is astropy's distance to the targ_ra/targ_dec that row
    reports, and the rows are the datasets with a public file within the radius."""
    path = real_dir / "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
    if not path.is_file():
        pytest.skip(f"{path.name} is absent")
    extract = fits.getheader(path, "EXTRACT1D")
    centre = SkyCoord(extract["SRCRA"], extract["SRCDEC"], unit="deg")
    radius = 3 * u.arcmin
    result = client.post(
        SEARCH,
        json={
            "target": [f"{centre.ra.deg} {centre.dec.deg}"],
            "radius": radius.value,
            "radius_units": "arcminutes",
            "select_cols": ["targ_ra", "targ_dec"],
            "limit": 50000,
        },
    ).json()
    rows = result["results"]
    assert rows
    reported = SkyCoord([r["targ_ra"] for r in rows], [r["targ_dec"] for r in rows], unit="deg")
    truth_sep = centre.separation(reported).arcmin
    for row, sep in zip(rows, truth_sep, strict=True):
        assert row["ang_sep"] == pytest.approx(sep, abs=1e-7), row["fileSetName"]
    assert [r["ang_sep"] for r in rows] == sorted(r["ang_sep"] for r in rows)
    targets = _targets(archive_url)
    files = [f for f in _public_files(archive_url) if f["product_id"] in targets]
    coords = SkyCoord([targets[f["product_id"]] for f in files], unit="deg")
    near = centre.separation(coords) <= radius
    truth = {f["fileSetName"] for f, hit in zip(files, near, strict=True) if hit}
    assert {r["fileSetName"] for r in rows} == truth
    assert "jw02736-o007_s06355_nirspec" in truth
