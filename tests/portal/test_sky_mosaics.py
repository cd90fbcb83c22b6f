"""The archive's own mosaics under the offline sky view (tests/portal/mosaic_archive.py,
both backends): the listing names exactly the mosaics the person may read, each
picture is its mosaic (WCS from astropy, coverage by brute force), and in
Chromium Aladin Lite holds and draws them as image layers, for a stranger
without the exclusive-access ones, whose pictures answer no byte to them."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

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
#: Where the browser tests leave their screenshots, for a person to look at.
_SHOTS = Path(os.environ.get("WEBBARCHIVE_TEST_SHOTS", tempfile.gettempdir()))


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
    assert layers.json()["total"] == len(truth) and layers.json()["truncated"] is False
    far = mosaic_client.get("/portal/sky/mosaics?ra=30&dec=-40&radius=1")
    # nothing there: the view keeps its grid
    assert far.json() == {"layers": [], "total": 0, "truncated": False}


def test_listing_says_when_its_limit_cut_it(mosaic_client, mosaic_archive, monkeypatch):
    from webbarchive.previews import sky_layers

    monkeypatch.setattr(sky_layers, "MAX_LAYERS", 3)
    answer = mosaic_client.get(f"/portal/sky/mosaics?{VIEW}", headers=_as(mosaic_archive, "pi"))
    body = answer.json()
    assert len(body["layers"]) == 3 and body["total"] == 8 and body["truncated"] is True


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


# --- in Chromium ------------------------------------------------------------------------

SEARCH = f"/?position={FIELD.ra} {FIELD.dec}"
#: Departure from the offline sky (grey levels) above which a patch of the view
#: shows an image: the offline sky is one flat colour (footprints and grid hidden).
IMAGE_DEPARTURE = 10.0


@pytest.fixture
def sky_as(browser, mosaic_server, mosaic_archive):
    """``sky_as(who)``: a page of the search over the field as ``who``, its sky view drawn."""
    contexts = []

    def open_as(who: str):
        context = browser.new_context(
            base_url=mosaic_server, viewport={"width": 1280, "height": 800}
        )
        contexts.append(context)
        if who != "anonymous":
            token = mosaic_archive.tokens[who]
            context.add_cookies([{"name": "mast_token", "value": token, "url": mosaic_server}])
        page = context.new_page()
        page.goto(SEARCH)
        page.wait_for_selector(
            "#sky[data-mosaics], #sky[data-failed]", state="attached", timeout=60000
        )
        assert page.locator("#sky").get_attribute("data-failed") is None
        return page

    yield open_as
    for context in contexts:
        context.close()


def _layers_in_aladin(page) -> dict[str, dict]:
    return {
        m["file"]: m
        for m in page.evaluate(
            """() => {
                const { aladin, mosaics } = window.webbSky;
                const stack = aladin.getStackLayers();
                return mosaics.map((m) => ({
                    file: m.file,
                    stacked: stack.includes(`mosaic ${m.file}`),
                    added: aladin.getOverlayImageLayer(`mosaic ${m.file}`).added,
                    url: m.image.url,
                }));
            }"""
        )
    }


def _view_pixels(page) -> np.ndarray:
    """The sky view as a grey array, footprints and grid hidden (only the layers remain)."""
    page.evaluate("() => { window.webbSky.overlay.hide(); window.webbSky.aladin.hideCooGrid(); }")
    page.wait_for_timeout(500)  # a frame or two
    shot = page.locator("#sky").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)


def _on_screen(page, ra: float, dec: float) -> tuple[int, int] | None:
    xy = page.evaluate("([ra, dec]) => window.webbSky.aladin.world2pix(ra, dec)", [ra, dec])
    return None if xy is None else (int(round(xy[0])), int(round(xy[1])))


def _departure(grey: np.ndarray, xy: tuple[int, int], half: int = 6) -> float:
    """Mean absolute difference (grey levels) between the view around ``xy`` and
    the offline sky, a flat colour (the view's commonest level): 0 where no layer is."""
    sky_level = np.bincount(grey.astype(int).ravel()).argmax()
    x, y = xy
    patch = grey[max(y - half, 0) : y + half + 1, max(x - half, 0) : x + half + 1]
    return float(np.abs(patch - sky_level).mean())


def _extent(path: str) -> list[tuple[float, float]]:
    """The corners of a mosaic's whole image (not only its footprint), by astropy."""
    with fits.open(path) as hdul:
        hdu = hdul["SCI"] if "SCI" in hdul else hdul[0]
        corners = WCS(hdu.header, naxis=2).calc_footprint()
    return [(float(ra), float(dec)) for ra, dec in corners]


def _only_in(archive, program: str, others: str) -> tuple[float, float]:
    """A point inside every mosaic image of ``program`` and outside every image of
    ``others``, by 1" at least (a few screen pixels of the view)."""
    from webbarchive.catalog import sky

    rows = _mosaics(archive).values()
    mine = [_extent(r["path"]) for r in rows if r["proposal_id"] == program]
    theirs = [_extent(r["path"]) for r in rows if r["proposal_id"] == others]
    for polygon in mine:
        centre = sky.centroid(polygon)
        for ra, dec in polygon:
            for t in np.linspace(0.05, 1.0, 20):
                point = (ra + t * (centre[0] - ra), dec + t * (centre[1] - dec))
                near = [
                    (point[0] + a / 3600, point[1] + b / 3600)
                    for a in (-1, 0, 1)
                    for b in (-1, 0, 1)
                ]
                if all(sky.point_in_polygon(p, *q) for p in mine for q in near) and not any(
                    sky.point_in_polygon(p, *q) for p in theirs for q in near
                ):
                    return point
    raise AssertionError("the fixture's programs have no region of their own")


@pytest.mark.slow
def test_offline_view_draws_the_readable_mosaics(sky_as, mosaic_archive):
    page = sky_as("pi")
    held = _layers_in_aladin(page)
    assert set(held) == set(_mosaics(mosaic_archive))  # all eight: the PI reads both programs
    assert all(m["stacked"] and m["added"] for m in held.values())
    assert page.locator("#sky").get_attribute("data-mosaics") == "8"
    page.locator("#sky").screenshot(path=str(_SHOTS / "sky-mosaics-pi.png"))
    grey = _view_pixels(page)
    for program, other in ((PUBLIC_PROGRAM, EAP_PROGRAM), (EAP_PROGRAM, PUBLIC_PROGRAM)):
        xy = _on_screen(page, *_only_in(mosaic_archive, program, other))
        assert _departure(grey, xy) > IMAGE_DEPARTURE, (
            program,
            xy,
        )  # an image there, not a flat sky
    corner = (20, grey.shape[0] - 60)  # far from the field: the offline sky, flat
    assert _departure(grey, corner) < 1.0


@pytest.mark.slow
def test_stranger_view_leaves_the_exclusive_mosaics_out(sky_as, mosaic_archive):
    page = sky_as("stranger")
    held = _layers_in_aladin(page)
    public = {n for n, r in _mosaics(mosaic_archive).items() if r["proposal_id"] == PUBLIC_PROGRAM}
    assert set(held) == public and all(m["added"] for m in held.values())
    stack = page.evaluate("() => window.webbSky.aladin.getStackLayers()")
    assert not any(f"0{EAP_PROGRAM}" in name for name in stack)
    grey = _view_pixels(page)
    page.locator("#sky").screenshot(path=str(_SHOTS / "sky-mosaics-stranger.png"))
    public_xy = _on_screen(page, *_only_in(mosaic_archive, PUBLIC_PROGRAM, EAP_PROGRAM))
    hidden_xy = _on_screen(page, *_only_in(mosaic_archive, EAP_PROGRAM, PUBLIC_PROGRAM))
    assert _departure(grey, public_xy) > IMAGE_DEPARTURE
    assert _departure(grey, hidden_xy) < 1.0  # the flat offline sky where the hidden mosaic is
    # and the pictures of the exclusive mosaics give the stranger's browser no byte
    for name in (n for n, r in _mosaics(mosaic_archive).items() if r["proposal_id"] == EAP_PROGRAM):
        answer = page.request.get(f"/portal/sky/mosaic.png?file={name}")
        assert answer.status == 403 and not answer.body().startswith(PNG_SIGNATURE)


@pytest.mark.slow
def test_brightest_source_is_where_the_layer_puts_it(sky_as, mosaic_archive):
    """Orientation: a public i2d's brightest pixel, placed on the sky by astropy, is
    bright on screen where Aladin projects that sky position."""
    page = sky_as("stranger")
    name = next(
        n for n, r in _mosaics(mosaic_archive).items()
        if r["proposal_id"] == PUBLIC_PROGRAM and n.endswith("f200w_i2d.fits")
    )  # fmt: skip
    # draw only that layer
    page.evaluate(
        """(keep) => {
            const { aladin, mosaics } = window.webbSky;
            for (const m of mosaics) if (m.file !== keep) aladin.removeImageLayer(`mosaic ${m.file}`);
        }""",
        name,
    )
    page.evaluate("() => window.webbSky.aladin.setFoV(8 / 3600)")
    page.wait_for_timeout(500)
    with fits.open(_mosaics(mosaic_archive)[name]["path"]) as hdul:
        data, wcs = hdul["SCI"].data.astype(float), WCS(hdul["SCI"].header, naxis=2)
    y, x = np.unravel_index(np.nanargmax(data), data.shape)
    ra, dec = wcs.wcs_pix2world([[x, y]], 0)[0]
    page.evaluate(
        "([ra, dec]) => window.webbSky.aladin.gotoRaDec(ra, dec)", [float(ra), float(dec)]
    )
    page.wait_for_timeout(500)
    grey = _view_pixels(page)
    sx, sy = _on_screen(page, float(ra), float(dec))
    here = grey[sy - 3 : sy + 4, sx - 3 : sx + 4].max()
    # mirrored about the layer's centre row, as a flipped picture would put it
    mirror_ra, mirror_dec = wcs.wcs_pix2world([[x, data.shape[0] - 1 - y]], 0)[0]
    mx, my = _on_screen(page, float(mirror_ra), float(mirror_dec)) or (sx, sy)
    assert here >= 200
    assert here > grey[max(my - 3, 0) : my + 4, max(mx - 3, 0) : mx + 4].max() + 30 or (
        abs(my - sy) < 4
    )


def test_block_means_and_wcs_of_a_large_mosaic():
    """Mosaics over 1024 pixels are averaged in k x k blocks: each block mean by brute
    force, and the sliced WCS puts each picture pixel at its block's centre."""
    from webbarchive.previews.sky_layers import block_mean, block_of, picture_wcs

    rng = np.random.default_rng(3)
    data = rng.normal(size=(2500, 1801))
    data[:40, :40] = 0.0  # no data (drizzle weight 0)
    data[1000, 1000] = np.nan
    k = block_of(data.shape)
    assert k == 3
    means = block_mean(data, k)
    assert means.shape == (834, 601)
    for j, i in [(0, 0), (13, 13), (333, 333), (833, 600), (500, 17)]:
        block = data[j * k : (j + 1) * k, i * k : (i + 1) * k]
        kept = block[np.isfinite(block) & (block != 0)]
        assert (
            np.isnan(means[j, i]) if kept.size == 0 else means[j, i] == pytest.approx(kept.mean())
        )
    mosaic = WCS(naxis=2)
    mosaic.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    mosaic.wcs.crval = [150.1, 2.2]
    mosaic.wcs.crpix = [900.5, 1250.5]
    mosaic.wcs.cd = [[-1e-5 * 0.8, 1e-5 * 0.6], [1e-5 * 0.6, 1e-5 * 0.8]]
    keys = picture_wcs(mosaic.to_header(), data.shape)
    assert (keys["NAXIS1"], keys["NAXIS2"]) == (601, 834)
    picture = WCS(fits.Header(keys))
    i, j = np.meshgrid([0, 10, 300, 600], [0, 7, 400, 833])
    ra, dec = picture.wcs_pix2world(i.ravel(), j.ravel(), 0)
    block_ra, block_dec = mosaic.wcs_pix2world(i.ravel() * k + 1, j.ravel() * k + 1, 0)
    assert np.allclose(ra, block_ra, rtol=0, atol=1e-10)
    assert np.allclose(dec, block_dec, rtol=0, atol=1e-10)


@pytest.mark.slow
def test_without_a_mosaic_in_view_the_grid_stays(page, eap_archive):
    """The EAP archive's public x1d lies where no mosaic is: no layer, the grid shown."""
    page.goto("/?position=53.16 -27.78&radius=1")
    page.wait_for_selector("#sky[data-mosaics], #sky[data-failed]", state="attached", timeout=60000)
    assert page.locator("#sky").get_attribute("data-mosaics") == "0"
    state = page.evaluate(
        """() => ({
            stack: window.webbSky.aladin.getStackLayers(),
            grid: window.webbSky.aladin.getGridOptions().enabled,
        })"""
    )
    assert not any(name.startswith("mosaic ") for name in state["stack"])
    assert state["grid"] is True


def test_picture_of_a_mosaic_whose_file_is_gone_is_a_404(mosaic_client, mosaic_archive):
    """Catalogued but missing from storage: 404 saying so, as retrieve answers it."""
    name, row = next(
        (n, r) for n, r in sorted(_mosaics(mosaic_archive).items())
        if r["proposal_id"] == PUBLIC_PROGRAM
    )  # fmt: skip
    moved = row["path"] + ".moved"
    os.rename(row["path"], moved)
    try:
        answer = mosaic_client.get(f"/portal/sky/mosaic.png?file={name}")
    finally:
        os.rename(moved, row["path"])
    assert answer.status_code == 404
    assert "missing from storage" in answer.json()["message"]
