"""Small JWST-like FITS files built in tests (astropy), with known truths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

PIXEL_SCALE_DEG = 0.031 / 3600.0  # NIRCam short-wave pixel


def image_wcs(ra: float, dec: float, size: int) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [(size + 1) / 2.0, (size + 1) / 2.0]
    wcs.wcs.cdelt = [-PIXEL_SCALE_DEG, PIXEL_SCALE_DEG]
    return wcs


def write_cal(
    folder: Path,
    name: str = "jw01234001001_02101_00001_nrca1_cal.fits",
    *,
    ra: float = 150.1,
    dec: float = 2.2,
    size: int = 64,
    s_region: str | None = "wcs",
    effexptm: float = 300.0,
    category: str = "GO",
    date_end: str = "2023-01-01T01:00:00.500",
    extra: dict | None = None,
) -> Path:
    """A NIRCam level-2b cal file. ``s_region="wcs"`` writes the true footprint
    (from the WCS corners); a string writes that string; None writes none."""
    primary = fits.Header()
    cards = {
        "TELESCOP": "JWST",
        "INSTRUME": "NIRCAM",
        "DETECTOR": "NRCA1",
        "DATAMODL": "ImageModel",
        "PROGRAM": "01234",
        "CATEGORY": category,
        "PI_NAME": "Doe, Jane",
        "TITLE": "A test program",
        "EXP_TYPE": "NRC_IMAGE",
        "FILTER": "F200W",
        "PUPIL": "CLEAR",
        "TARGPROP": "TEST-FIELD",
        "TARGNAME": "Test field",
        "TARG_RA": ra,
        "TARG_DEC": dec,
        "EXPRIPAR": "PRIME",
        "TEMPLATE": "NIRCam Imaging",
        "DATE-OBS": "2023-01-01",
        "TIME-OBS": "00:55:00.25",
        "DATE-END": date_end,
        "EXPSTART": Time("2023-01-01T00:55:00.25", scale="utc").mjd,
        "EXPEND": Time(date_end, scale="utc").mjd,
        "EFFEXPTM": effexptm,
        "BKGDTARG": False,
        "NINTS": 2,
    }
    cards.update(extra or {})
    for key, value in cards.items():
        primary[key] = value
    data = np.random.default_rng(1).normal(size=(size, size)).astype("float32")
    wcs = image_wcs(ra, dec, size)
    sci = fits.ImageHDU(data, header=wcs.to_header(), name="SCI")
    if s_region == "wcs":
        corners = wcs.calc_footprint(axes=(size, size))
        s_region = "POLYGON ICRS " + " ".join(f"{a:.9f} {b:.9f}" for a, b in corners)
    if s_region is not None:
        sci.header["S_REGION"] = s_region
    sci.header["XPOSURE"] = effexptm
    path = folder / name
    fits.HDUList([fits.PrimaryHDU(header=primary), sci]).writeto(path, overwrite=True)
    return path
