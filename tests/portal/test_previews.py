"""Preview JPEGs where jpegURL points (/api/v0.1/Download/file?uri=...jpg), both
backends: every observation's resolves, image previews follow the product's
pixels, exclusive-access previews are refused as their products are, and a
re-ingest draws nothing again."""

from __future__ import annotations

import io
import shutil
import warnings

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image
from scipy.stats import spearmanr
from sqlalchemy import select

from tests.auth.eap import EAP_OBS_ID, PUBLIC_OBS_ID
from webbarchive.catalog.schema import observations, products

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DOWNLOAD = "/api/v0.1/Download/file"


def _as(archive, who: str) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens[who]}"} if who != "anonymous" else {}


def _jpeg(client, uri: str, headers=None) -> Image.Image:
    answer = client.get(DOWNLOAD, params={"uri": uri}, headers=headers or {})
    assert answer.status_code == 200, (uri, answer.text[:300])
    assert answer.headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(answer.content))
    assert picture.format == "JPEG"
    picture.load()
    return picture


def _product(engine, **where) -> dict:
    with engine.connect() as conn:
        query = select(products).order_by(products.c.filename)
        for name, value in where.items():
            query = query.where(products.c[name] == value)
        return dict(conn.execute(query).mappings().first())


def test_every_jpeg_url_resolves(portal_client, eap_archive):
    with eap_archive.engine.connect() as conn:
        rows = conn.execute(
            select(observations.c.obsid, observations.c.jpegURL, observations.c.obs_id).where(
                observations.c.obs_id.not_in([EAP_OBS_ID, PUBLIC_OBS_ID])  # written by hand
            )
        ).all()
        science = set(
            conn.execute(
                select(products.c.obsid).where(products.c.productType == "SCIENCE")
            ).scalars()
        )
    drawn = [url for _, url, _ in rows if url]
    # An observation without a jpegURL has no science product to show (MSA files only).
    assert [obs_id for obsid, url, obs_id in rows if not url and obsid in science] == []
    assert len(drawn) > 20
    for url in drawn:
        picture = _jpeg(portal_client, url, _as(eap_archive, "admin"))
        assert 16 <= min(picture.size) and max(picture.size) <= 1100, (url, picture.size)


def test_image_preview_follows_the_pixels(portal_client, eap_archive):
    """The brightest pixel of the data is white in the preview, and the preview's
    grey levels rank the pixels as the data does (a monotonic stretch)."""
    row = _product(eap_archive.engine, suffix="i2d", proposal_id=_public_program(eap_archive))
    data = fits.getdata(row["path"], "SCI").astype(float)
    stem = row["filename"].rsplit(".fits", 1)[0]
    picture = _jpeg(portal_client, f"mast:JWST/product/{stem}.jpg")
    grey = np.asarray(picture.convert("L"), dtype=float)
    k = grey.shape[0] // data.shape[0]
    assert k >= 1 and grey.shape == (data.shape[0] * k, data.shape[1] * k)
    # back to one value per data pixel, FITS row order (row 0 at the bottom)
    blocks = np.flipud(grey.reshape(data.shape[0], k, data.shape[1], k).mean(axis=(1, 3)))
    y, x = np.unravel_index(np.nanargmax(data), data.shape)
    assert blocks[y, x] >= 240
    y, x = np.unravel_index(np.nanargmin(data), data.shape)
    assert blocks[y, x] <= 15
    finite = np.isfinite(data)
    assert spearmanr(data[finite], blocks[finite]).statistic > 0.9


def test_cube_preview_is_the_white_light_image(portal_client, eap_archive):
    row = _product(eap_archive.engine, suffix="s3d", proposal_id=_public_program(eap_archive))
    cube = fits.getdata(row["path"], "SCI").astype(float)
    with warnings.catch_warnings():  # spaxels NaN at every wavelength
        warnings.simplefilter("ignore", RuntimeWarning)
        white = np.nanmean(cube, axis=0)
    picture = _jpeg(portal_client, "mast:JWST/product/" + row["filename"].replace(".fits", ".jpg"))
    grey = np.asarray(picture.convert("L"), dtype=float)
    k = grey.shape[0] // white.shape[0]
    blocks = np.flipud(grey.reshape(white.shape[0], k, white.shape[1], k).mean(axis=(1, 3)))
    y, x = np.unravel_index(np.nanargmax(white), white.shape)
    assert blocks[y, x] >= 240


def test_spectrum_preview_is_a_plot(portal_client, eap_archive):
    row = _product(eap_archive.engine, suffix="x1d", proposal_id=_public_program(eap_archive))
    picture = _jpeg(portal_client, "mast:JWST/product/" + row["filename"].replace(".fits", ".jpg"))
    assert picture.size == (800, 300) and picture.mode == "RGB"


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("stranger", 403), ("pi", 200)])
def test_exclusive_preview_is_refused_as_its_product(portal_client, eap_archive, who, status):
    program = eap_archive.context["mock_program"]
    for suffix in ("i2d", "x1d"):
        row = _product(eap_archive.engine, suffix=suffix, proposal_id=program)
        preview = "mast:JWST/product/" + row["filename"].replace(".fits", ".jpg")
        product = "mast:JWST/product/" + row["filename"]
        for method in ("GET", "HEAD"):
            answers = [
                portal_client.request(
                    method, DOWNLOAD, params={"uri": uri}, headers=_as(eap_archive, who)
                )
                for uri in (preview, product)
            ]
            assert [a.status_code for a in answers] == [status, status], (who, suffix, method)
        if status != 200:  # the refusal names what was asked, and nothing of the product
            refusal = portal_client.get(
                DOWNLOAD, params={"uri": preview}, headers=_as(eap_archive, who)
            ).json()["message"]
            assert refusal.startswith(row["filename"].replace(".fits", ".jpg"))


def test_unknown_preview_is_a_404(portal_client):
    answer = portal_client.get(DOWNLOAD, params={"uri": "mast:JWST/product/jw00000_nothing.jpg"})
    assert answer.status_code == 404 and "jw00000_nothing.jpg" in answer.json()["message"]


def _public_program(archive) -> str:
    with archive.engine.connect() as conn:
        programs = conn.execute(
            select(products.c.proposal_id)
            .where(products.c.suffix == "i2d", products.c.proposal_id.not_in(["9999", "1111"]))
            .where(products.c.proposal_id != archive.context["mock_program"])
            .distinct()
        ).scalars()
        candidates = set(programs)
        with_cube = set(
            conn.execute(select(products.c.proposal_id).where(products.c.suffix == "s3d")).scalars()
        )
    return sorted(candidates & with_cube or candidates)[0]


# --- ingest: drawn once, drawn again when the product changes, failures reported ----------


def test_reingest_draws_nothing_and_a_bad_product_is_reported(catalog_url, mock_dir, tmp_path):
    from webbarchive.catalog.db import open_catalog
    from webbarchive.ingest.runner import ingest_paths
    from webbarchive.previews import store

    chosen = []
    for suffix in ("i2d", "s3d", "x1d", "s2d"):
        found = sorted(mock_dir.rglob(f"*_{suffix}.fits"))[0]
        copy = tmp_path / "files" / found.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy2(found, copy)
        chosen.append(str(copy))
    first = ingest_paths(chosen, db_url=catalog_url, workers=1, progress=False)
    assert sorted(first.previews.drawn) == sorted(p.rsplit("/", 1)[1] for p in chosen)
    assert "previews: drew 4, could not draw 0" in first.summary()
    engine = open_catalog(catalog_url, create=False)
    folder = store.folder(engine)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    assert len(before) == 4

    again = ingest_paths(chosen, db_url=catalog_url, workers=1, progress=False)
    assert again.previews.drawn == [] and again.previews.failed == []
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before

    # a product file that went bad after its ingest: reported, the others unharmed
    broken = next(p for p in chosen if p.endswith("_i2d.fits"))
    with open(broken, "r+b") as fh:
        fh.write(b"not a FITS file at all" * 200)
    (folder / store.preview_name(broken.rsplit("/", 1)[1])).unlink()
    report = store.update(engine)
    assert report.drawn == [] and [name for name, _ in report.failed] == [broken.rsplit("/", 1)[1]]
    engine.dispose()
