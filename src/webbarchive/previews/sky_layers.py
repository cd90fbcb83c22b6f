"""The archive's own mosaics as image layers of the portal's sky view.

Offline (no survey to draw), the sky view shows the mosaics a person may read
under the footprints: level-3 ``i2d`` products and DJA drizzled mosaics
(``drc_sci``/``drz_sci``; field mosaics only, as a sub-mosaic is a slice of its
field's). Each becomes a PNG with an alpha channel (pixels
without data are transparent, so mosaics never hide each other with empty
borders) and the FITS WCS of that picture, which Aladin Lite v3 projects
(``A.image(url, {imgFormat: "png", wcs})``).

The picture is the mosaic averaged over blocks of ``k`` x ``k`` pixels, ``k`` the
smallest whole factor that brings the long side to at most :data:`MAX_SIDE`, with
the asinh stretch of the preview JPEGs. Its WCS is the mosaic's celestial WCS
sliced ``[::k, ::k]`` by astropy: a block's centre is the mean of its pixels'
centres, which is where astropy puts the sliced pixel. Row 0 of the PNG is the
top (the last FITS row), as in every image file.

Which mosaics: those whose product ``user`` may read
(:func:`webbarchive.catalog.rights.visible_products`) and whose footprint
overlaps the view's cone (``sky_index`` candidates, confirmed by
:func:`webbarchive.catalog.sky.polygon_intersects_cone`). Angles in degrees.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image
from sqlalchemy import Connection, func, select

from webbarchive.catalog import sky
from webbarchive.catalog.rights import User, visible_products
from webbarchive.catalog.schema import observations, products, sky_index
from webbarchive.dja.imaging.tables import dja_mosaics
from webbarchive.previews.stretch import Stretch
from webbarchive.storage import open_storage

#: Product suffixes drawn as layers: pipeline mosaics and DJA drizzled mosaics.
MOSAIC_SUFFIXES = ("i2d", "drc_sci", "drz_sci")
#: Longest side (pixels) of a layer's picture.
MAX_SIDE = 1024
#: Most layers a view gets (the largest footprints first: they are what a view shows).
MAX_LAYERS = 12
#: Largest view radius (deg) asked for; a wider view is no place for mosaics of arcminutes.
MAX_RADIUS_DEG = 10.0
#: WCS keywords handed to Aladin Lite (celestial, no distortion).
_WCS_KEYS = ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2",
             "PC1_1", "PC1_2", "PC2_1", "PC2_2", "LONPOLE", "LATPOLE", "RADESYS", "EQUINOX")  # fmt: skip


class LayerError(Exception):
    """This mosaic cannot be drawn as a layer; the message says why."""


def overlapping(
    conn: Connection, ra: float, dec: float, radius_deg: float, user: User
) -> tuple[list[dict[str, Any]], int]:
    """Mosaic products (``filename``, ``path``, ``suffix``, ``mtime``, footprint
    ``polygon``) overlapping the cone that ``user`` may read, the largest footprint
    first, at most :data:`MAX_LAYERS`; and how many overlap in all."""
    candidates = (
        select(sky_index.c.obsid)
        .where(sky.cells_clause(sky.cone_ranges(ra % 360.0, dec, radius_deg)))
        .distinct()
        .scalar_subquery()
    )
    query = (
        select(
            products.c.filename,
            products.c.path,
            products.c.suffix,
            products.c.mtime,
            func.coalesce(products.c.s_region, observations.c.s_region).label("s_region"),
        )
        .join(observations, observations.c.obsid == products.c.obsid)
        .outerjoin(dja_mosaics, dja_mosaics.c.product_id == products.c.product_id)
        .where(
            # a DJA sub-mosaic is a slice of its field mosaic: the field's is drawn
            func.coalesce(dja_mosaics.c.kind, "field") != "assoc",
            products.c.obsid.in_(candidates),
            products.c.suffix.in_(MOSAIC_SUFFIXES),
            visible_products(user),
        )
    )
    found = []
    for row in conn.execute(query).mappings():
        try:
            polygon = sky.parse_stcs(row["s_region"])
        except (sky.FootprintError, TypeError):
            continue
        if sky.polygon_intersects_cone(polygon, ra % 360.0, dec, radius_deg):
            found.append({**row, "polygon": polygon})
    found.sort(key=lambda r: (-sky.area_deg2(r["polygon"]), r["filename"]))
    return found[:MAX_LAYERS], len(found)


def _image_hdu(hdul: fits.HDUList):
    """The science image: the SCI extension (i2d), else the primary (DJA mosaics)."""
    if "SCI" in hdul and hdul["SCI"].data is not None:
        return hdul["SCI"]
    if hdul[0].data is not None and hdul[0].data.ndim == 2:
        return hdul[0]
    raise LayerError("the file has no 2-D science image")


def block_of(shape: tuple[int, int]) -> int:
    """Mosaic pixels per picture pixel along each axis."""
    return max(1, -(-max(shape) // MAX_SIDE))


def picture_wcs(header: fits.Header, shape: tuple[int, int]) -> dict[str, Any]:
    """FITS WCS keywords (with NAXIS1/NAXIS2) of the picture of a mosaic whose
    science header and (ny, nx) shape are given."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(header, naxis=2).celestial
    if not wcs.has_celestial:
        raise LayerError("the mosaic has no celestial WCS")
    wcs.sip = None
    k = block_of(shape)
    sliced = wcs[::k, ::k] if k > 1 else wcs
    cards = sliced.to_header()
    keys = {key: cards[key] for key in _WCS_KEYS if key in cards}
    keys["NAXIS"] = 2
    keys["NAXIS1"] = -(-shape[1] // k)
    keys["NAXIS2"] = -(-shape[0] // k)
    return keys


def _local(path: str):
    return open_storage(path).cached(path)


def layer_wcs(path: str) -> dict[str, Any]:
    """The picture WCS of the mosaic at storage key ``path`` (header only)."""
    with _local(path) as local:
        return _wcs_of(str(local), os.stat(local).st_mtime)


@functools.lru_cache(maxsize=256)
def _wcs_of(local: str, mtime: float) -> dict[str, Any]:
    with fits.open(local, memmap=True) as hdul:
        hdu = _image_hdu(hdul)
        return picture_wcs(hdu.header, hdu.shape)


def block_mean(data: np.ndarray, k: int) -> np.ndarray:
    """Mean of the finite, non-zero pixels of each k x k block (NaN where none),
    blocks starting at pixel (0, 0); the last row and column of blocks may be
    partial. Zero is no data in drizzled mosaics (weight 0), NaN in pipeline ones.

    Read one strip of k rows at a time: a memory-mapped DJA mosaic of 20,000
    pixels a side is never held whole."""
    ny, nx = data.shape
    out = np.empty((-(-ny // k), -(-nx // k)))
    for row in range(out.shape[0]):
        strip = np.asarray(data[row * k : (row + 1) * k], dtype=np.float64)
        strip = np.where(strip == 0.0, np.nan, strip)
        padded = np.full((k, out.shape[1] * k), np.nan)
        padded[: strip.shape[0], :nx] = strip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty blocks are NaN
            out[row] = np.nanmean(padded.reshape(k, out.shape[1], k), axis=(0, 2))
    return out


def layer_png(path: str) -> bytes:
    """The layer picture (PNG, grey with alpha) of the mosaic at storage key ``path``."""
    with _local(path) as local:
        return _png_of(str(local), os.stat(local).st_mtime)


@functools.lru_cache(maxsize=16)
def _png_of(local: str, mtime: float) -> bytes:
    with fits.open(local, memmap=True) as hdul:
        hdu = _image_hdu(hdul)
        mean = block_mean(hdu.data, block_of(hdu.data.shape))
    covered = np.isfinite(mean)
    if not covered.any():
        raise LayerError("the mosaic has no pixel with data")
    grey, _ = Stretch().grey(mean)
    alpha = np.where(covered, 255, 0).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, alpha])[::-1]  # row 0 of a picture is the top
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()
