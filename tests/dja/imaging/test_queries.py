"""/assoc, /exposures and /assoc_mosaic over the DJA test archive (both backends):
columns against the seed, positions in every form, rights, box forms, epochs,
downloads, figures and 4xx answers."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest
from astropy.io import fits
from PIL import Image

from tests.dja.imaging.conftest import POLE, RA0

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

GOODS_N = (189.2288, 62.2394)
EGS = (214.8557, 52.8556)
SEED = "003_239e16074d60b87c.txt"


def _seed_columns(seeds_dir: Path, first: str) -> list[str]:
    """The column list of the seed's table whose header starts with ``| first |``."""
    for line in (seeds_dir / SEED).read_text().splitlines():
        if line.startswith(f"| {first} |"):
            return [c.strip() for c in line.strip().strip("|").split("|")]
    raise AssertionError(f"no table starting with {first} in the seed")


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _header(response) -> list[str]:
    return next(csv.reader(io.StringIO(response.text)))


def test_csv_columns_are_the_seeds(dja_client, seeds_dir):
    exposure_columns = _seed_columns(seeds_dir, "file | extension")
    assert len(exposure_columns) == 43 and exposure_columns[-1] == "eid"
    exposures = dja_client.get("/exposures", params={"ra": GOODS_N[0], "dec": GOODS_N[1]})
    assert _header(exposures) == exposure_columns
    assoc = dja_client.get("/assoc", params={"coords": "189.2288,62.2394", "output": "csv"})
    assert _header(assoc) == _seed_columns(seeds_dir, "assoc_name")
    mosaic = dja_client.get("/assoc_mosaic", params={"coords": "189.2288,62.2394", "output": "csv"})
    mosaic_columns = _seed_columns(seeds_dir, "file | assoc_name")
    # the seed's columns, then the download links of the sci and wht files
    assert _header(mosaic) == mosaic_columns + ["sci_url", "wht_url"]


def test_exposures_are_the_level2_files_with_their_association(dja_client, dja_dir):
    rows = _csv(dja_client.get("/exposures", params={"coords": "189.2288,62.2394", "arcmin": 1}))
    files = {r["file"] for r in rows}
    on_disk = {p.name[:-10] for p in dja_dir.glob("jw01181*_rate.fits")}
    assert files == on_disk and len(files) == 4  # 2 filters x 2 dithers
    for row in rows:
        assert row["extension"] == "rate"
        with fits.open(dja_dir / f"{row['file']}_rate.fits") as hdul:
            assert row["filter"] == f"{hdul[0].header['FILTER']}-{hdul[0].header['PUPIL']}"
            assert int(row["naxis1"]) == hdul["SCI"].header["NAXIS1"]
            assert int(row["ndq"]) == int((hdul["DQ"].data != 0).sum())
        assert row["footprint"].startswith("((") and row["assoc"].startswith(
            "j123654p6214_goods-n-"
        )
    assocs = _csv(dja_client.get("/assoc", params={"coords": "189.2288,62.2394", "output": "csv"}))
    assert {a["assoc_name"] for a in assocs} == {r["assoc"] for r in rows}
    assert all(a["status"] == "2" and a["proposal_pi"] == "Eisenstein, Daniel" for a in assocs)
    assert {a["filter"] for a in assocs} == {"F115W-CLEAR", "F356W-CLEAR"}


def test_filters_and_instruments_select(dja_client):
    base = {"coords": "189.2288,62.2394", "arcmin": 1}
    only = _csv(dja_client.get("/exposures", params={**base, "filters": "F356W-CLEAR"}))
    assert {r["filter"] for r in only} == {"F356W-CLEAR"} and len(only) == 2
    none = _csv(dja_client.get("/exposures", params={**base, "instruments": "MIRI"}))
    assert none == []
    nircam = _csv(dja_client.get("/assoc", params={**base, "output": "csv", "instruments": "NIRCAM",
                                                   "filters": "F200W-CLEAR,F356W-CLEAR"}))  # fmt: skip
    assert {a["filter"] for a in nircam} == {"F356W-CLEAR"}


@pytest.mark.parametrize(
    "params",
    [
        {"ra": "189.2288", "dec": "62.2394"},
        {"coords": "189.2288,62.2394"},
        {"coords": "189.2288 62.2394"},
        {"coord": "12:36:54.912,+62:14:21.84"},
        {"coord": "12:36:54.912 +62:14:21.84"},
    ],
)
def test_every_position_form_gives_the_same_answer(dja_client, params):
    rows = _csv(dja_client.get("/exposures", params={**params, "arcmin": 0.5}))
    assert len(rows) == 4


def test_exclusive_access_is_hidden(dja_client):
    """CEERS (override in the future) and the pole MIRI field (GO 2026) are exclusive:
    a position they alone cover is empty sky (tests/security/test_discovery.py)."""
    for coords in (f"{EGS[0]},{EGS[1]}", "37.9546,89.2641"):
        assert _csv(dja_client.get("/exposures", params={"coords": coords})) == []
        assert _csv(dja_client.get("/assoc", params={"coords": coords, "output": "csv"})) == []
        assert (
            _csv(dja_client.get("/assoc_mosaic", params={"coords": coords, "output": "csv"})) == []
        )
        answer = dja_client.get("/thumb", params={"coords": coords})
        assert answer.status_code == 404 and "no mosaic covers" in answer.json()["message"]


def test_authorized_users_see_exclusive_access_data(dja_client):
    from webbarchive.catalog.rights import User

    app = dja_client.app
    saved = app.state.resolve_user
    try:
        app.state.resolve_user = lambda request: User(name="pi", programs=frozenset({"1345"}))
        rows = _csv(dja_client.get("/exposures", params={"coords": f"{EGS[0]},{EGS[1]}"}))
        assert len(rows) == 4 and all(r["file"].startswith("jw01345") for r in rows)
        assert dja_client.get("/thumb", params={"coords": f"{EGS[0]},{EGS[1]}"}).status_code == 200
        app.state.resolve_user = lambda request: User(name="stranger")
        hidden = dja_client.get("/thumb", params={"coords": f"{EGS[0]},{EGS[1]}"})
        assert hidden.status_code == 404 and "no mosaic covers" in hidden.json()["message"]
        assert _csv(dja_client.get("/exposures", params={"coords": f"{EGS[0]},{EGS[1]}"})) == []
    finally:
        app.state.resolve_user = saved


def test_assoc_mosaic_box_forms_epochs_and_downloads(dja_client, dja_dir):
    point = _csv(
        dja_client.get("/assoc_mosaic", params={"coords": f"{RA0.ra},{RA0.dec}", "output": "csv"})
    )
    assert {r["filter"] for r in point} == {"F115W-CLEAR", "F200W-CLEAR", "F444W-CLEAR"}
    # a box far from the mosaics (sides 1', centre 5' away) finds nothing; a wide box finds them
    away = f"{RA0.ra},{RA0.dec + 5 / 60},1"
    assert _csv(dja_client.get("/assoc_mosaic", params={"coords": away, "output": "csv"})) == []
    wide = f"{RA0.ra},{RA0.dec + 5 / 60},2,11"
    assert len(_csv(dja_client.get("/assoc_mosaic", params={"coords": wide, "output": "csv"}))) == 3
    grouped = _csv(dja_client.get("/assoc_mosaic", params={
        "coords": f"{RA0.ra},{RA0.dec},1", "filters": "F444W-CLEAR", "round_epoch": 30, "output": "csv"}))  # fmt: skip
    assert len(grouped) == 1 and float(grouped[0]["epoch"]) % 30 == 0
    assert (
        float(grouped[0]["epoch"])
        <= float(grouped[0]["expstart"])
        < float(grouped[0]["epoch"]) + 30
    )
    row = grouped[0]
    assert row["file"].endswith("-f444w-clear_drc_sci.fits") and row["file"].startswith(
        row["assoc_name"]
    )
    for key, name in (("sci_url", row["file"]), ("wht_url", row["file"].replace("_sci", "_wht"))):
        path = re.sub(r"^https?://[^/]+", "", row[key])
        body = dja_client.get(path)
        assert body.status_code == 200
        assert (
            hashlib.md5(body.content).hexdigest()
            == hashlib.md5((dja_dir / name).read_bytes()).hexdigest()
        )
    html = dja_client.get("/assoc_mosaic", params={"coords": f"{RA0.ra},{RA0.dec}"})
    assert html.headers["content-type"].startswith("text/html") and "Download/file" in html.text


@pytest.mark.parametrize("endpoint", ["/assoc", "/exposures", "/assoc_mosaic"])
def test_figures_are_png(dja_client, endpoint):
    params = {"coords": "189.2288,62.2394", "output": "figure"}
    if endpoint != "/assoc_mosaic":
        params["polygon"] = "rect(189.2288,62.2394,1)"
    answer = dja_client.get(endpoint, params=params)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "PNG" and image.size[0] > 300


def test_html_is_the_default_for_assoc_and_table_for_exposures(dja_client):
    assert (
        dja_client.get("/assoc", params={"coords": "189.2288,62.2394"})
        .headers["content-type"]
        .startswith("text/html")
    )
    table = dja_client.get("/exposures", params={"coords": "189.2288,62.2394", "output": "table"})
    assert table.headers["content-type"].startswith("text/html") and "jw01181" in table.text


def test_paging_reports_totals(dja_client):
    answer = dja_client.get("/exposures", params={"coords": "189.2288,62.2394", "limit": 3})
    assert len(_csv(answer)) == 3
    assert answer.headers["X-Total-Count"] == "4" and answer.headers["X-Truncated"] == "true"


BAD = [
    "/exposures",
    "/exposures?ra=10",
    "/exposures?coords=abc,def",
    "/exposures?coords=10,95",
    "/exposures?coords=10,10&arcmin=-1",
    "/exposures?coords=10,10&arcmin=nan",
    "/exposures?coords=10,10&arcmin=1e9",
    "/exposures?polygon=rect(1,2)",
    "/exposures?polygon=circle(1,2,3)",
    "/exposures?polygon=rect(1,2,x)",
    "/exposures?coords=10,10&output=votable",
    "/exposures?coords=10,10&limit=0",
    "/assoc?coords=10,10&output=xml",
    "/assoc_mosaic?coords=1,2,3,4,5",
    "/assoc_mosaic?coords=1,2,x",
    "/assoc_mosaic?coords=1,2&round_epoch=0",
    "/assoc_mosaic?coords=1,2&round_epoch=abc",
    "/thumb",
    "/thumb?coords=10,10&size=0",
    "/thumb?coords=10,10&size=1000",
    "/thumb?coords=10,10&asinh=maybe",
    "/thumb?coords=10,10&rgb_scl=1,2",
    "/thumb?coords=10,10&output=jpeg",
    "/thumb?coords=10,10&default_filters=euclid",
    "/thumb?coords=10,10&filters=f999w",
    "/thumb?coords=10,10&slit=1,2,3",
    "/thumb?coords=10,10&slit=1,2,3,-1,5",
    "/thumb?coords=10,10",
]


@pytest.mark.parametrize("url", BAD)
def test_bad_input_is_a_4xx_that_explains(dja_client, url):
    answer = dja_client.get(url)
    assert 400 <= answer.status_code < 500, (url, answer.status_code, answer.text[:200])
    body = answer.json()
    assert body["status"] == "ERROR" and body["message"]


def test_a_position_no_image_covers_is_a_clear_404(dja_client):
    answer = dja_client.get("/thumb", params={"coords": "10,10"})
    assert answer.status_code == 404
    assert "No cutout found" in answer.json()["message"]
    assert "f444w-clear" in answer.json()["accepted"]["filters_in_archive"]


def test_pole_queries(dja_client):
    """At the pole every RA is near: a cone on the pole finds the field at RA 123."""
    rows = _csv(dja_client.get("/exposures", params={"coords": "0,90", "arcmin": 0.2}))
    assert rows and all(r["file"].startswith("jw06627032") for r in rows)
    assert {r["filter"] for r in rows} == {"F200W-CLEAR", "F444W-CLEAR"}
    far = _csv(
        dja_client.get("/exposures", params={"coords": f"{POLE.ra + 180},89.99", "arcmin": 0.2})
    )
    assert far == []  # 30" beyond the pole on the other side
