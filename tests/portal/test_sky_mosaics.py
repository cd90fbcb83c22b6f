"""The archive's own mosaics under the offline sky view (tests/portal/mosaic_archive.py,
both backends): the listing names exactly the mosaics the person may read, each
picture is its mosaic (WCS from astropy, coverage by brute force), and in
Chromium Aladin Lite holds and draws them as image layers, for a stranger
without the exclusive-access ones, whose pictures answer no byte to them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image
from sqlalchemy import select

from tests.portal.mosaic_archive import EAP_PROGRAM, FIELD, PUBLIC_PROGRAM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

VIEW = f"ra={FIELD.ra}&dec={FIELD.dec}&radius=0.02"
PNG_SIGNATURE = b"\x89PNG"


def _as(archive, who: str) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens[who]}"} if who != "anonymous" else {}


def _mosaics(archive) -> dict[str, dict]:
    """Every i2d and DJA field mosaic of the catalog, read with SQL here."""
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import products
    from webbarchive.dja.imaging.tables import dja_mosaics

    engine = open_catalog(archive.url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(products.c.filename, products.c.proposal_id, products.c.path, dja_mosaics.c.kind)
            .outerjoin(dja_mosaics, dja_mosaics.c.product_id == products.c.product_id)
            .where(products.c.suffix.in_(["i2d", "drc_sci"]))
        ).mappings()
        found = {r["filename"]: dict(r) for r in rows if r["kind"] != "assoc"}
    engine.dispose()
    return found


@pytest.mark.parametrize("who", ["anonymous", "stranger", "pi"])
def test_listing_names_the_mosaics_the_person_may_read(mosaic_client, mosaic_archive, who):
    layers = mosaic_client.get(f"/portal/sky/mosaics?{VIEW}", headers=_as(mosaic_archive, who))
    assert layers.status_code == 200
    names = {layer["file"] for layer in layers.json()["layers"]}
    programs = {PUBLIC_PROGRAM, EAP_PROGRAM} if who == "pi" else {PUBLIC_PROGRAM}
    truth = {n for n, r in _mosaics(mosaic_archive).items() if r["proposal_id"] in programs}
    assert len(truth) == (8 if who == "pi" else 4)  # 2 filters x (i2d, DJA field mosaic)
    assert names == truth
    far = mosaic_client.get("/portal/sky/mosaics?ra=30&dec=-40&radius=1")
    assert far.json() == {"layers": []}  # nothing there: the view keeps its grid


def _picture(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGBA"))


def test_each_picture_is_its_mosaic_with_its_wcs(mosaic_client, mosaic_archive):
    pi = _as(mosaic_archive, "pi")
    layers = mosaic_client.get(f"/portal/sky/mosaics?{VIEW}", headers=pi).json()["layers"]
    paths = {n: r["path"] for n, r in _mosaics(mosaic_archive).items()}
    for layer in layers:
        answer = mosaic_client.get(layer["url"], headers=pi)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        rgba = _picture(answer.content)
        wcs_keys = layer["wcs"]
        assert rgba.shape[:2] == (wcs_keys["NAXIS2"], wcs_keys["NAXIS1"])
        with fits.open(paths[layer["file"]]) as hdul:
            hdu = hdul["SCI"] if "SCI" in hdul else hdul[0]
            data, mosaic_wcs = hdu.data.astype(float), WCS(hdu.header, naxis=2)
        ny, nx = data.shape
        k = -(-max(ny, nx) // 1024)
        # coverage, block by block (row 0 of the picture is the last FITS row)
        flipped = rgba[::-1, :, 3]
        for j in range(flipped.shape[0]):
            for i in range(flipped.shape[1]):
                block = data[j * k : (j + 1) * k, i * k : (i + 1) * k]
                has_data = bool((np.isfinite(block) & (block != 0)).any())
                assert (flipped[j, i] == 255) == has_data, (layer["file"], i, j)
        # the picture's WCS puts each picture pixel where its block's centre is
        picture_wcs = WCS(fits.Header(wcs_keys))
        i, j = np.meshgrid(np.arange(0, flipped.shape[1], 7), np.arange(0, flipped.shape[0], 7))
        ra, dec = picture_wcs.wcs_pix2world(i.ravel(), j.ravel(), 0)
        block_ra, block_dec = mosaic_wcs.wcs_pix2world(
            i.ravel() * k + (k - 1) / 2, j.ravel() * k + (k - 1) / 2, 0
        )
        assert np.allclose(ra, block_ra, rtol=0, atol=1e-9)
        assert np.allclose(dec, block_dec, rtol=0, atol=1e-9)
        # the brightest block is the picture's brightest pixel, where the WCS says
        means = np.where(np.isfinite(data) & (data != 0), data, np.nan)
        if k == 1:
            bj, bi = np.unravel_index(np.nanargmax(means), means.shape)
            assert flipped.shape[0] - 1 - bj >= 0
            assert rgba[flipped.shape[0] - 1 - bj, bi, 0] == rgba[..., 0].max()


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("stranger", 403), ("pi", 200)])
def test_exclusive_picture_answers_only_its_program(mosaic_client, mosaic_archive, who, status):
    exclusive = sorted(
        n for n, r in _mosaics(mosaic_archive).items() if r["proposal_id"] == EAP_PROGRAM
    )
    for name in exclusive:
        answer = mosaic_client.get(
            f"/portal/sky/mosaic.png?file={name}", headers=_as(mosaic_archive, who)
        )
        assert answer.status_code == status
        assert answer.content.startswith(PNG_SIGNATURE) == (status == 200)
        if status != 200:
            assert answer.json()["message"]  # the refusal, and not a byte of the picture


def test_picture_of_a_product_that_is_no_mosaic_is_refused(mosaic_client, mosaic_archive):
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import products

    engine = open_catalog(mosaic_archive.url)
    with engine.connect() as conn:
        cal = conn.execute(
            select(products.c.filename).where(
                products.c.suffix == "cal", products.c.proposal_id == PUBLIC_PROGRAM
            )
        ).scalar()
    engine.dispose()
    answer = mosaic_client.get(f"/portal/sky/mosaic.png?file={cal}")
    assert answer.status_code == 400 and "not a mosaic" in answer.json()["message"]
    assert mosaic_client.get("/portal/sky/mosaic.png?file=nothing_i2d.fits").status_code == 404
    assert mosaic_client.get("/portal/sky/mosaics?ra=10&dec=0&radius=20").status_code == 400
