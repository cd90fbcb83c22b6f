"""Product pages and the observation page's products, through the real app
(TestClient), both backends, against the catalog tables and the files."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image
from sqlalchemy import select

from tests.auth.eap import EAP_FILE, EAP_SENTINELS, PUBLIC_FILE
from webbarchive.catalog.schema import observations, products

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _as(archive, who: str) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens[who]}"} if who != "anonymous" else {}


def _row(engine, suffix: str, exclude: tuple[str, ...] = ()) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(products)
                .where(products.c.suffix == suffix, products.c.proposal_id.not_in(exclude))
                .order_by(products.c.filename)
            )
            .mappings()
            .first()
        )


def _public_row(archive, suffix: str) -> dict:
    return _row(archive.engine, suffix, (archive.context["mock_program"], "9999"))


def _cell(html: str, name: str) -> str:
    found = re.search(rf'<tr><th scope="row">{name}</th><td>([^<]*)</td></tr>', html)
    return found.group(1) if found else ""


def test_product_page_shows_every_field(portal_client, eap_archive):
    row = _public_row(eap_archive, "i2d")
    page = portal_client.get(f"/portal/product/{row['filename']}")
    assert page.status_code == 200
    for name in ("size", "checksum", "productLevel", "calib_level", "productType", "suffix"):
        assert _cell(page.text, name) == str(row[name]), name
    assert f"{row['size']:,}" in page.text and row["checksum"] in page.text
    assert row["path"] not in page.text  # the server's storage key stays private
    assert 'id="download"' in page.text and "Download/file?uri=mast%3AJWST" in page.text
    jpg = row["filename"].replace(".fits", ".jpg")
    assert f"mast%3AJWST/product/{jpg}" in page.text.replace("%2F", "/")
    with fits.open(row["path"]) as hdul:  # the keywords, as the header has them
        header = hdul[0].header
    assert _cell(page.text, "instrume") == header["INSTRUME"]
    assert _cell(page.text, "telescop") == header["TELESCOP"]
    assert int(_cell(page.text, "program")) == int(header["PROGRAM"])  # typed as MAST does


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("stranger", 403), ("pi", 200)])
def test_exclusive_product_page_and_image(portal_client, eap_archive, who, status):
    name = eap_archive.context["mock_image"]
    for url in (f"/portal/product/{name}", f"/portal/product/{name}/image.png"):
        answer = portal_client.get(url, headers=_as(eap_archive, who))
        assert answer.status_code == status, url
        if status != 200:
            body = answer.text.replace(name, "")
            for sentinel in EAP_SENTINELS + eap_archive.sentinels:
                assert sentinel not in body
    page = portal_client.get(f"/portal/product/{EAP_FILE}", headers=_as(eap_archive, who))
    assert page.status_code == status
    if status == 200:
        assert "EAPSECRET-KEYWORD" in page.text  # the keywords of the hand-made x1d


def _png(client, name: str, query: str) -> tuple[np.ndarray, tuple[float, float]]:
    answer = client.get(f"/portal/product/{name}/image.png?{query}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    low, high = map(float, answer.headers["x-stretch-limits"].split())
    return np.asarray(Image.open(io.BytesIO(answer.content)).convert("L"), dtype=float), (low, high)


def test_image_view_follows_the_chosen_stretch(portal_client, eap_archive):
    row = _public_row(eap_archive, "i2d")
    data = fits.getdata(row["path"], "SCI").astype(float)
    finite = data[np.isfinite(data)]
    linear, limits = _png(portal_client, row["filename"], "stretch=linear&lo=1&hi=99")
    assert limits == pytest.approx(tuple(np.percentile(finite, [1, 99])), rel=1e-5)
    k = linear.shape[0] // data.shape[0]
    blocks = np.flipud(linear[::k, ::k])  # PNG: no compression noise
    lo, hi = limits
    expected = np.round(np.clip((data - lo) / (hi - lo), 0, 1) * 255)
    assert np.abs(blocks - np.nan_to_num(expected)).max() <= 1
    log, _ = _png(portal_client, row["filename"], "stretch=log&lo=1&hi=99")
    middle = (blocks > 60) & (blocks < 200)
    assert (np.flipud(log[::k, ::k])[middle] > blocks[middle]).all()  # log lifts the middle
    vmin, vmax = float(np.median(finite)), float(finite.max())
    clipped, limits = _png(portal_client, row["filename"], f"stretch=sqrt&vmin={vmin}&vmax={vmax}")
    assert limits == pytest.approx((vmin, vmax), rel=1e-5)
    assert (np.flipud(clipped[::k, ::k])[data < vmin] == 0).all()


def test_cube_view_is_the_white_light_image(portal_client, eap_archive):
    row = _public_row(eap_archive, "s3d")
    cube = fits.getdata(row["path"], "SCI").astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        white = np.nanmean(cube, axis=0)
    picture, (low, high) = _png(portal_client, row["filename"], "stretch=linear&lo=0&hi=100")
    assert (low, high) == pytest.approx((np.nanmin(white), np.nanmax(white)), rel=1e-5)
    k = picture.shape[0] // white.shape[0]
    assert picture.shape == (white.shape[0] * k, white.shape[1] * k)


@pytest.mark.parametrize(
    "query", ["stretch=cubic", "lo=90&hi=10", "vmin=abc", "lo=-3", "vmin=5&vmax=1"]
)
def test_bad_stretch_is_a_400(portal_client, eap_archive, query):
    row = _public_row(eap_archive, "i2d")
    answer = portal_client.get(f"/portal/product/{row['filename']}/image.png?{query}")
    assert answer.status_code == 400 and answer.json()["message"]
    page = portal_client.get(f"/portal/product/{row['filename']}?{query}")
    assert page.status_code == 400 and 'role="alert"' in page.text


def test_spectrum_has_no_image_view(portal_client):
    answer = portal_client.get(f"/portal/product/{PUBLIC_FILE}/image.png")
    assert answer.status_code == 400 and "x1d" in answer.json()["message"]
    page = portal_client.get(f"/portal/product/{PUBLIC_FILE}")
    assert 'id="spectrum"' in page.text and 'id="stretch-form"' not in page.text


def test_unknown_product_is_a_404(portal_client):
    assert portal_client.get("/portal/product/jw00000_nothing.fits").status_code == 404


def test_observation_page_lists_products_by_level(portal_client, eap_archive):
    row = _public_row(eap_archive, "s3d")
    with eap_archive.engine.connect() as conn:
        obs = conn.execute(
            select(observations.c.obs_id, observations.c.dataURL).where(
                observations.c.obsid == row["obsid"]
            )
        ).one()
        files = conn.execute(
            select(products.c.filename, products.c.calib_level).where(
                products.c.obsid == row["obsid"]
            )
        ).all()
    page = portal_client.get(f"/portal/observation/{obs.obs_id}")
    assert page.status_code == 200
    tables = re.findall(
        r'<table class="products" data-level="(\d+)">(.*?)</table>', page.text, re.S
    )
    listed = {
        name: int(level)
        for level, body in tables
        for name in re.findall(r'<a href="/portal/product/[^"]+">([^<]+)</a>', body)
    }
    assert listed == {name: level or 0 for name, level in files}
    levels = [int(level) for level, _ in tables]
    assert levels == sorted(levels, reverse=True)
    representative = obs.dataURL.rsplit("/", 1)[1]
    with fits.open(_row_path(eap_archive, representative)) as hdul:
        header = hdul[0].header
    assert f"of {representative}" in page.text
    assert _cell(page.text, "instrume") == header["INSTRUME"]
    assert _cell(page.text, "exp_type") == header["EXP_TYPE"]
    assert 'id="preview"' in page.text


def _row_path(archive, filename: str) -> str:
    with archive.engine.connect() as conn:
        return conn.execute(select(products.c.path).where(products.c.filename == filename)).scalar()
