"""msaexp spectra (DJA) in the pixel search: ingested into the pixel store by the
ingest that catalogues them, found with the seed's syntax, marked ``collection``
DJA with a link to the file, chosen with ``collection=``, and kept from whoever
may not read their program.

The truth is brute force: numpy over the SPEC1D table of each mock spectrum.
Programs as in tests/security/test_community_rights.py: 6802 exclusive (release
far in the future), 2561 public, 4233 without a catalogued JWST product (release
unknown, so only its PI and admins). Both backends.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.real_files import real_dir, skip_reason
from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings
from webbarchive.ingest.runner import ingest_paths

EXCLUSIVE, PUBLIC, UNKNOWN = "6802", "2561", "4233"
WHO = ("anonymous", "stranger", "pi", "admin")
READERS = {
    EXCLUSIVE: {"pi", "admin"},
    PUBLIC: set(WHO),
    UNKNOWN: {"pi", "admin"},
}
_counter = itertools.count()


def _program(name: str) -> str | None:
    return next((p for p in READERS if f"_{p}_" in name), None)


def _truth(paths: list[Path]) -> dict[str, dict[str, np.ndarray]]:
    """file -> x, wavelength, flux of its pixels (finite wavelength), read with numpy."""
    truth = {}
    for path in paths:
        with fits.open(path) as hdul:
            table = hdul["SPEC1D"].data
            wave = np.asarray(table["wave"], float)
            flux = np.asarray(table["flux"], float)
        keep = np.isfinite(wave)
        truth[path.name] = {"x": np.flatnonzero(keep), "wave": wave[keep], "flux": flux[keep]}
    return truth


def _expected(truth, readable: set[str], low: float, high: float, flux_min: float | None):
    """Sorted (file, x) of the matching pixels of the spectra in ``readable``."""
    found = []
    for file, t in truth.items():
        if file not in readable:
            continue
        with np.errstate(invalid="ignore"):
            hit = (t["wave"] >= low) & (t["wave"] <= high)
            if flux_min is not None:
                hit &= t["flux"] >= flux_min
        found += [(file, int(x)) for x in t["x"][hit]]
    return sorted(found)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, mock_dir, tmp_path_factory):
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("msaexp-pixels") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(
            f"msaexppix{next(_counter)}_{os.getpid()}"
        )
    jwst = [
        str(p) for program in (EXCLUSIVE, PUBLIC) for p in sorted(mock_dir.glob(f"jw0{program}*"))
    ]
    ingest_paths(jwst, db_url=url, workers=1, progress=False)
    engine = open_catalog(url)
    accounts.set_release(engine, EXCLUSIVE, 99_999.0)
    accounts.set_release(engine, PUBLIC, 59_000.0)
    spectra = [p for p in sorted((mock_dir / "dja").glob("*.spec.fits")) if _program(p.name)]
    assert {_program(p.name) for p in spectra} == set(READERS)
    ingest_paths([str(p) for p in spectra], db_url=url, workers=1, progress=False)
    for name in ("pi", "stranger", "admin"):
        accounts.add_user(engine, name, display_name=name.title(), admin=name == "admin")
    accounts.set_pi(engine, EXCLUSIVE, "pi")
    accounts.set_pi(engine, UNKNOWN, "pi")
    tokens = {n: accounts.create_token(engine, n, "t").token for n in WHO if n != "anonymous"}
    yield url, tokens, _truth(spectra), {p.name: _program(p.name) for p in spectra}
    engine.dispose()


def _client(url: str, community_rights: str = ""):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app

    overrides = {"community_rights": community_rights} if community_rights else {}
    app = create_app(Settings.from_env(db_url=url, **overrides))
    app.state.rate_limiter = None
    return TestClient(app, raise_server_exceptions=False)


def _search(client, tokens, who, **params):
    headers = {} if who == "anonymous" else {"Authorization": f"token {tokens[who]}"}
    answer = client.get("/spectra/api/v0.1/search", params=params, headers=headers)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


QUERIES = [
    {"wavelength": "1.0,5.5"},
    {"wavelength": "2.0,3.0", "flux.gte": "0.05"},
    {"wavelength": "3.9,4.1"},
]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_dja_search_equals_brute_force_over_readable_spectra(archive, who, query):
    url, tokens, truth, programs = archive
    readable = {f for f, p in programs.items() if who in READERS[p]}
    low, high = (float(v) for v in query["wavelength"].split(","))
    flux_min = float(query["flux.gte"]) if "flux.gte" in query else None
    expected = _expected(truth, readable, low, high, flux_min)
    with _client(url) as client:
        found = _search(client, tokens, who, collection="DJA", limit=100_000, **query)
    rows = found["results"]
    assert sorted((r["fileName"], r["x"]) for r in rows) == expected
    assert _total(found) == len(expected)
    assert {r["collection"] for r in rows} <= {"DJA"}
    for r in rows[:50]:
        assert r["uri"].startswith("/msaexp-nirspec/extractions/") and r["uri"].endswith(
            "/" + r["fileName"]
        )


def _total(found: dict) -> int:
    return int(found["paging"]["total"])


def test_cases_are_not_vacuous(archive):
    url, tokens, truth, programs = archive
    exclusive = {f for f, p in programs.items() if p == EXCLUSIVE}
    assert _expected(truth, exclusive, 1.0, 5.5, None), "no exclusive pixels to hide"
    assert _expected(truth, set(programs), 2.0, 3.0, 0.05)


@pytest.mark.parametrize("who", ("anonymous", "stranger"))
def test_exclusive_msaexp_pixels_never_reach_a_stranger(archive, who):
    url, tokens, truth, programs = archive
    hidden = {f for f, p in programs.items() if who not in READERS[p]}
    with _client(url) as client:
        for params in (
            {"collection": "DJA"},
            {"collection": "all"},
            {"collection": "DJA", "limit": 30_000, "offset": 1},  # deep: catalog first
            {"collection": "DJA", "program": EXCLUSIVE},
            {"collection": "all", "instrument": "NIRSPEC", "limit": 50_000},
        ):
            found = _search(client, tokens, who, **{"limit": 100_000, **params})
            assert not hidden & {r["fileName"] for r in found["results"]}, params
            assert EXCLUSIVE not in found["query"] or "program" in params


def test_the_pi_reads_them_and_an_opened_collection_shows_them_to_all(archive):
    url, tokens, truth, programs = archive
    exclusive = {f for f, p in programs.items() if p == EXCLUSIVE}
    with _client(url) as client:
        mine = _search(client, tokens, "pi", collection="DJA", program=EXCLUSIVE, limit=100_000)
    assert {r["fileName"] for r in mine["results"]} == exclusive
    with _client(url, community_rights="msaexp=public") as client:
        theirs = _search(client, tokens, "anonymous", collection="DJA", limit=100_000)
    assert exclusive <= {r["fileName"] for r in theirs["results"]}


def test_collections_select_product_types(archive):
    url, tokens, truth, programs = archive
    with _client(url) as client:
        jwst = _search(client, tokens, "admin", limit=100_000)
        dja = _search(client, tokens, "admin", collection="dja", limit=100_000)
        both = _search(client, tokens, "admin", collection="all", limit=100_000)
    assert {r["collection"] for r in jwst["results"]} == {"JWST"}
    assert all(r["uri"].startswith("mast:JWST/product/") for r in jwst["results"])
    assert {r["collection"] for r in dja["results"]} == {"DJA"}
    assert _total(both) == _total(jwst) + _total(dja)
    assert sorted((r["fileName"], r["x"], r["y"]) for r in both["results"]) == sorted(
        (r["fileName"], r["x"], r["y"]) for r in jwst["results"] + dja["results"]
    )


def test_product_filters_and_cone_apply_to_msaexp(archive):
    url, tokens, truth, programs = archive
    from sqlalchemy import select

    from webbarchive.dja.spectra.tables import nirspec_extractions as e

    engine = open_catalog(url)
    with engine.connect() as conn:
        rows = conn.execute(select(e.c.file, e.c.ra, e.c.dec, e.c.grating)).all()
    engine.dispose()
    one = next(r for r in rows if programs[r.file] == PUBLIC and r.ra is not None)
    grating = one.grating.split("_")[0]
    with _client(url) as client:
        near = _search(
            client, tokens, "admin", collection="DJA", ra=one.ra, dec=one.dec, radius=0.0003,
            limit=100_000,
        )  # fmt: skip
        by_grating = _search(client, tokens, "admin", collection="DJA", grating=grating)
    close = {
        r.file
        for r in rows
        if r.ra is not None and abs(r.dec - one.dec) < 0.0003 and abs(r.ra - one.ra) < 0.0003
    }
    assert one.file in {r["fileName"] for r in near["results"]}
    assert {r["fileName"] for r in near["results"]} <= close
    assert _total(near) == sum(truth[f]["x"].size for f in {r["fileName"] for r in near["results"]})
    wanted = {r.file for r in rows if r.grating.split("_")[0] == grating}
    assert {r["fileName"] for r in by_grating["results"]} <= wanted
    assert by_grating["results"]


def test_a_bad_collection_says_what_is_accepted(archive):
    url, tokens, truth, programs = archive
    with _client(url) as client:
        answer = client.get("/spectra/api/v0.1/search", params={"collection": "HST"})
    assert answer.status_code == 400
    assert "JWST" in answer.text and "DJA" in answer.text and "all" in answer.text


def test_a_real_msaexp_file_equals_brute_force(tmp_path):
    real = real_dir()
    if real is None:
        pytest.skip(skip_reason())
    found = sorted((real / "dja").glob("*.spec.fits*"))
    if not found:
        pytest.skip("no msaexp spectrum among the real files")
    files = []
    for path in found[:2]:  # a v1 layout (.gz) and another
        files.append(tmp_path / path.name)
        shutil.copy(path, files[-1])
    url = str(tmp_path / "catalog.db")
    ingest_paths([str(f) for f in files], db_url=url, workers=1, progress=False)
    truth = _truth(files)
    expected = _expected(truth, set(truth), 0.5, 6.0, None)
    assert expected
    with _client(url, community_rights="msaexp=public") as client:
        answer = _search(client, {}, "anonymous", collection="DJA", wavelength="0.5,6.0",
                         limit=100_000)  # fmt: skip
    assert sorted((r["fileName"], r["x"]) for r in answer["results"]) == expected
    assert _total(answer) == len(expected)
