"""Cutouts from drizzled mosaics: FITS cutouts (astropy Cutout2D on memory-mapped
files) and resampling onto the thumbnail grid.

Open mosaics stay memory-mapped in a small cache, so a cutout reads only the
pixels it needs. Angles in degrees, sizes in arcsec.
"""

from __future__ import annotations

import functools
import io
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
from scipy.ndimage import map_coordinates

from webbarchive.storage import open_storage

#: Thumbnail pixel scale (arcsec): DJA cuts at 0.05" (``nn = floor(size / 0.05)``).
THUMB_SCALE_ARCSEC = 0.05
#: Header keywords copied from a mosaic into its cutout.
_KEEP = ("TELESCOP", "INSTRUME", "DETECTOR", "FILTER", "PUPIL", "PROGRAM", "BUNIT", "ZP",
         "PHOTFNU", "PHOTFLAM", "PHOTPLAM", "IMGMED", "EFFEXPTM", "EXPSTART", "EXPEND",
         "VERSION", "TARGPROP")  # fmt: skip


@dataclass(frozen=True)
class OpenMosaic:
    header: fits.Header
    wcs: WCS
    data: np.ndarray  # memory-mapped


@functools.lru_cache(maxsize=64)
def _open(path: str, mtime: float) -> OpenMosaic:
    hdul = fits.open(path, memmap=True, mode="readonly")
    hdu = hdul[0] if hdul[0].data is not None else hdul["SCI"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(hdu.header, naxis=2)
    return OpenMosaic(hdu.header, wcs, hdu.data)


def open_mosaic(path: str) -> OpenMosaic:
    """A memory-mapped mosaic (cached while the file is unchanged); a mosaic in
    object storage is mapped from its local copy (one per object version)."""
    with open_storage(path).cached(path) as local:  # mapped: never evicted while open
        return _open(str(local), os.stat(local).st_mtime)


def fits_cutout(path: str, ra: float, dec: float, size_arcsec: float, fill_value: float):
    """Cutout2D of the mosaic at ``path``: a square of side ``size_arcsec`` centred on
    (ra, dec), ``mode='partial'`` (pixels off the mosaic get ``fill_value``)."""
    mosaic = open_mosaic(path)
    position = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    cutout = Cutout2D(
        mosaic.data,
        position,
        size_arcsec * u.arcsec,
        wcs=mosaic.wcs,
        mode="partial",
        fill_value=fill_value,
        copy=True,
    )
    header = fits.Header([(k, mosaic.header[k]) for k in _KEEP if k in mosaic.header])
    header.update(cutout.wcs.to_header())
    return cutout.data, header


def fits_document(parts: list[tuple[str, str, np.ndarray, fits.Header]]) -> bytes:
    """One HDU per (filter, SCI|WHT) image, the first as the primary HDU (as DJA writes
    them): EXTNAME is the filter, EXTVER 1 for SCI and 2 for WHT, EXTTYPE says which."""
    hdus = []
    for index, (filter_name, kind, data, header) in enumerate(parts):
        header = header.copy()
        header["EXTNAME"] = filter_name
        header["EXTVER"] = 1 if kind == "SCI" else 2
        header["EXTTYPE"] = (kind, "SCI: 10 nJy per pixel; WHT: inverse variance")
        cls = fits.PrimaryHDU if index == 0 else fits.ImageHDU
        hdus.append(cls(data=data.astype(np.float32), header=header))
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


def thumb_grid(ra: float, dec: float, size_arcsec: float) -> tuple[WCS, int]:
    """The thumbnail grid: north up, east left, ``THUMB_SCALE_ARCSEC`` pixels,
    ``2 * floor(size / scale)`` on a side (``size`` is DJA's half-width)."""
    half = int(math.floor(size_arcsec / THUMB_SCALE_ARCSEC + 1e-9))
    n = max(2 * half, 2)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra % 360.0, dec]
    wcs.wcs.crpix = [(n + 1) / 2.0, (n + 1) / 2.0]
    scale = THUMB_SCALE_ARCSEC / 3600.0
    wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    return wcs, n


def resample(path: str, grid: WCS, n: int) -> tuple[np.ndarray, float]:
    """The mosaic's pixels bilinearly interpolated at the grid's pixel centres (zero
    off the mosaic), and the mosaic's own pixel scale (arcsec)."""
    mosaic = open_mosaic(path)
    x, y = _pixel_map(grid, mosaic.wcs, n)
    ny, nx = mosaic.data.shape
    x0, x1 = int(max(np.floor(x.min()) - 1, 0)), int(min(np.ceil(x.max()) + 2, nx))
    y0, y1 = int(max(np.floor(y.min()) - 1, 0)), int(min(np.ceil(y.max()) + 2, ny))
    scale = float(np.sqrt(abs(np.linalg.det(mosaic.wcs.pixel_scale_matrix)))) * 3600.0
    if x0 >= x1 or y0 >= y1:
        return np.zeros((n, n)), scale
    block = np.asarray(mosaic.data[y0:y1, x0:x1], dtype=np.float64)
    block = np.where(np.isfinite(block), block, 0.0)
    values = map_coordinates(block, [y - y0, x - x0], order=1, cval=0.0, mode="constant")
    return values.reshape(n, n), scale


def _pixel_map(grid: WCS, target: WCS, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in ``target`` of the grid's n x n pixel centres (flattened).

    Over a thumbnail (arcseconds) the TAN-to-TAN mapping is affine to far better
    than 0.001 pixel, so it is fitted on a 5 x 5 lattice and checked there; the
    exact per-pixel transform is the fallback when it is not.
    """
    lattice = np.linspace(0, n - 1, 5)
    gx, gy = np.meshgrid(lattice, lattice)
    world = grid.wcs_pix2world(gx.ravel(), gy.ravel(), 0)
    tx, ty = target.wcs_world2pix(world[0], world[1], 0)
    design = np.column_stack([gx.ravel(), gy.ravel(), np.ones(gx.size)])
    coef_x, *_ = np.linalg.lstsq(design, tx, rcond=None)
    coef_y, *_ = np.linalg.lstsq(design, ty, rcond=None)
    residual = max(np.abs(design @ coef_x - tx).max(), np.abs(design @ coef_y - ty).max())
    yy, xx = np.mgrid[0:n, 0:n]
    xx, yy = xx.ravel().astype(float), yy.ravel().astype(float)
    if residual < 1e-3:
        return coef_x[0] * xx + coef_x[1] * yy + coef_x[2], coef_y[0] * xx + coef_y[
            1
        ] * yy + coef_y[2]
    world = grid.wcs_pix2world(xx, yy, 0)
    return target.wcs_world2pix(world[0], world[1], 0)
