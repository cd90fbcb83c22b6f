"""/thumb: FITS cutouts against astropy's Cutout2D on the same mosaics (pixels and
WCS), PNG thumbnails (size, channels per filter, options), at RA 0/360 and the pole."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
from PIL import Image

from tests.dja.imaging.conftest import POLE, RA0

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# On the RA 0/360 field: just east of RA 0 (the mosaic straddles it).
RA0_EAST = ((RA0.ra + 1.0 / 3600.0) % 360.0, RA0.dec)


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.mode == "RGB"
    return np.asarray(image)


def _reference(path, ra, dec, side_arcsec, fill):
    with fits.open(path) as hdul:
        wcs = WCS(hdul[0].header)
        return Cutout2D(
            hdul[0].data, SkyCoord(ra * u.deg, dec * u.deg), side_arcsec * u.arcsec,
            wcs=wcs, mode="partial", fill_value=fill, copy=True,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("ra", "dec"), [RA0_EAST, (RA0.ra, RA0.dec), (POLE.ra, POLE.dec), (0.0, 90.0)]
)
def test_fits_cutouts_are_cutout2d(dja_client, dja_dir, ra, dec):
    size = 1.5  # DJA's half-width: a 3" cutout
    answer = dja_client.get(
        "/thumb", params={"ra": ra, "dec": dec, "size": size, "output": "fits_weight"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/fits"
    with fits.open(io.BytesIO(answer.content)) as hdul:
        assert isinstance(hdul[0], fits.PrimaryHDU)
        kinds = [(h.header["EXTNAME"], h.header["EXTTYPE"]) for h in hdul]
        filters = sorted({k[0] for k in kinds})
        assert len(hdul) == 2 * len(filters) and len(filters) >= 2
        for hdu in hdul:
            mosaic = dja_dir / hdu.header["MOSAIC"]
            assert hdu.header["MOSAIC"].endswith(
                "_drc_wht.fits" if hdu.header["EXTTYPE"] == "WHT" else "_drc_sci.fits"
            )
            ref = _reference(mosaic, ra, dec, 2 * size, 0.0)
            np.testing.assert_array_equal(hdu.data, ref.data.astype(np.float32))
            ours = WCS(hdu.header)
            np.testing.assert_allclose(ours.wcs.crpix, ref.wcs.wcs.crpix)
            np.testing.assert_allclose(ours.wcs.crval, ref.wcs.wcs.crval)
            np.testing.assert_allclose(ours.pixel_scale_matrix, ref.wcs.pixel_scale_matrix)
            # the requested position is at the cutout's centre pixel (within half a pixel)
            x, y = ours.world_to_pixel(SkyCoord(ra * u.deg, dec * u.deg))
            ny, nx = hdu.data.shape
            assert abs(x - (nx - 1) / 2) <= 0.5 + 1e-6 and abs(y - (ny - 1) / 2) <= 0.5 + 1e-6
            scale = np.sqrt(abs(np.linalg.det(ours.pixel_scale_matrix))) * 3600
            assert nx * scale == pytest.approx(2 * size, abs=2 * scale)


def test_fits_has_one_hdu_per_filter_without_weights(dja_client):
    answer = dja_client.get("/thumb", params={"coords": f"{RA0.ra},{RA0.dec}", "output": "fits"})
    with fits.open(io.BytesIO(answer.content)) as hdul:
        assert [h.header["EXTNAME"] for h in hdul] == ["F115W-CLEAR", "F200W-CLEAR", "F444W-CLEAR"]
        assert {h.header["EXTTYPE"] for h in hdul} == {"SCI"}
        assert all(h.header["BUNIT"] == "10nJy" for h in hdul)


@pytest.mark.parametrize("size", [1, 2, 4, 2.52])
def test_png_has_the_requested_size(dja_client, size):
    image = _png(dja_client.get("/thumb", params={"coords": f"{RA0.ra},{RA0.dec}", "size": size}))
    side = 2 * int(np.floor(size / 0.05 + 1e-9))  # DJA: size is the half-width at 0.05"/px
    assert image.shape == (side, side, 3)


def test_default_thumb_is_four_arcsec(dja_client):
    assert _png(dja_client.get("/thumb", params={"coords": f"{RA0.ra},{RA0.dec}"})).shape == (
        160,
        160,
        3,
    )


def test_rgb_channels_follow_the_filters(dja_client):
    coords = f"{RA0.ra},{RA0.dec}"
    rgb = _png(
        dja_client.get("/thumb", params={"coords": coords, "filters": "f115w,f200w,f444w"})
    ).astype(int)
    # Sources have colours: the channels (F444W, F200W, F115W) differ.
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 1.0
    assert np.abs(rgb[..., 0] - rgb[..., 1]).mean() > 0.5
    mono = _png(dja_client.get("/thumb", params={"coords": coords, "filters": "f115w-clear"}))
    assert (mono[..., 0] == mono[..., 1]).all() and (mono[..., 1] == mono[..., 2]).all()
    other = _png(dja_client.get("/thumb", params={"coords": coords, "filters": "f444w-clear"}))
    assert not np.array_equal(mono, other)
    # swapping the channel order swaps red and blue
    swapped = _png(dja_client.get("/thumb", params={"coords": coords, "filters": "f115w,f200w,f444w",
                                                    "rgb_scl": "1,1,1.0001"}))  # fmt: skip
    ordered = _png(dja_client.get("/thumb", params={"coords": coords, "filters": "f444w,f200w,f115w",
                                                    "rgb_scl": "1,1,1.0001"}))  # fmt: skip
    assert np.array_equal(swapped, ordered)  # channels are assigned by wavelength, as DJA does


def test_options_change_the_image(dja_client):
    base = {"coords": f"{RA0.ra},{RA0.dec}", "filters": "f115w-clear,f200w-clear,f444w-clear"}
    plain = _png(dja_client.get("/thumb", params=base)).astype(int)
    inverted = _png(dja_client.get("/thumb", params={**base, "invert": "True"})).astype(int)
    np.testing.assert_array_equal(inverted, 255 - plain)
    assert not np.array_equal(
        _png(dja_client.get("/thumb", params={**base, "asinh": "true"})), plain
    )
    # asinh=False really is false (DJA's raw-string test would enable it)
    np.testing.assert_array_equal(
        _png(dja_client.get("/thumb", params={**base, "asinh": "False"})), plain
    )
    brighter = _png(dja_client.get("/thumb", params={**base, "scl": 4})).astype(int)
    assert brighter.mean() > plain.mean()
    assert not np.array_equal(_png(dja_client.get("/thumb", params={**base, "pl": 1})), plain)
    assert not np.array_equal(_png(dja_client.get("/thumb", params={**base, "rgb_min": 0})), plain)


def test_all_filters_strip_and_slit(dja_client):
    base = {"coords": f"{RA0.ra},{RA0.dec}", "size": 2}
    strip = _png(dja_client.get("/thumb", params={**base, "all_filters": "true"}))
    assert strip.shape == (80, 4 * 80 + 3 * 2, 3)  # three filters and the RGB image
    plain = _png(dja_client.get("/thumb", params=base))
    slit = f"{RA0.ra},{RA0.dec},30,0.5,3"
    drawn = _png(dja_client.get("/thumb", params={**base, "slit": slit}))
    changed = np.argwhere((drawn != plain).any(axis=2))
    assert len(changed) > 20
    # the slit is 3" long, 0.5" wide and centred: everything drawn lies within 1.6" of the centre
    distance = np.hypot(changed[:, 0] - 39.5, changed[:, 1] - 39.5) * 0.05
    assert distance.max() < 1.6


def test_thumb_on_the_pole(dja_client):
    image = _png(dja_client.get("/thumb", params={"coords": "0,90", "size": 1}))
    assert image.shape == (40, 40, 3) and image.std() > 0
