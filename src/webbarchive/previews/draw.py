"""A product file as a picture.

Images (i2d, cal, rate, crf) and 2-D spectra (s2d) are shown as images of
their SCI extension; per-integration products (calints, rateints) as the
median over integrations; cubes (s3d) as a white-light image, the mean over
wavelength of each spaxel; 1-D spectra (x1d, c1d) as a plot of flux and
error against wavelength. Images keep FITS orientation (row 0 at the
bottom), are enlarged by a whole factor while their long side is under
:data:`MIN_SIDE` pixels and reduced while it is over :data:`MAX_SIDE`, so a
pixel of the data stays a block of whole pixels of the picture.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from astropy.io import fits
from PIL import Image

from webbarchive.previews.plots import spectrum_picture
from webbarchive.previews.stretch import Stretch

IMAGE_SUFFIXES = frozenset({"i2d", "cal", "rate", "crf", "s2d", "calints", "rateints"})
CUBE_SUFFIXES = frozenset({"s3d"})
PLOT_SUFFIXES = frozenset({"x1d", "c1d", "x1dints"})
#: Suffixes shown as an image, with a stretch the user may change.
IMAGED = IMAGE_SUFFIXES | CUBE_SUFFIXES
#: Suffixes that get a preview JPEG.
DRAWN = IMAGED | PLOT_SUFFIXES
MIN_SIDE = 400  # pixels
MAX_SIDE = 1024  # pixels
JPEG_QUALITY = 90
_SPECTRUM_TABLES = ("EXTRACT1D", "COMBINE1D")
_ERROR_COLUMNS = ("FLUX_ERROR", "ERROR")


class PreviewError(Exception):
    """This product cannot be drawn; the message says why."""


def image_data(path: str, suffix: str) -> np.ndarray:
    """The 2-D array (float64, FITS row order) shown for an image-like product."""
    if suffix not in IMAGED:
        raise PreviewError(f"a {suffix} product is not shown as an image")
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = _image_hdu(hdul)
            data = np.asarray(hdu.data, dtype=np.float64)
    except (OSError, ValueError, TypeError) as exc:
        raise PreviewError(f"cannot read the image: {exc}") from exc
    if data.ndim == 3:
        with warnings.catch_warnings():  # spaxels NaN at every wavelength stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            data = np.nanmean(data, axis=0) if suffix in CUBE_SUFFIXES else np.nanmedian(data, 0)
    if data.ndim != 2 or min(data.shape) < 1:
        raise PreviewError(f"the image has shape {data.shape}, not two axes")
    if not np.isfinite(data).any():
        raise PreviewError("the image has no finite pixel")
    return data


def _image_hdu(hdul: fits.HDUList):
    if "SCI" in hdul and hdul["SCI"].data is not None:
        return hdul["SCI"]
    for hdu in hdul:
        if hdu.is_image and hdu.data is not None and hdu.data.ndim >= 2:
            return hdu
    raise PreviewError("the file has no image extension")


def block_factor(shape: tuple[int, ...]) -> float:
    """Picture pixels per data pixel along each axis (>1 enlarged, <1 reduced)."""
    side = max(shape)
    if side < MIN_SIDE:
        return float(max(1, MIN_SIDE // side))
    if side > MAX_SIDE:
        return 1.0 / -(-side // MAX_SIDE)  # 1/ceil(side / MAX_SIDE)
    return 1.0


def image_picture(data: np.ndarray, stretch: Stretch) -> tuple[Image.Image, tuple[float, float]]:
    """A grey picture of ``data`` (row 0 at the bottom) and the limits used."""
    grey, limits = stretch.grey(data)
    picture = Image.fromarray(np.flipud(grey), mode="L")
    factor = block_factor(data.shape)
    if factor > 1:
        k = int(factor)
        picture = picture.resize((data.shape[1] * k, data.shape[0] * k), Image.NEAREST)
    elif factor < 1:
        picture = picture.reduce(round(1 / factor))
    return picture, limits


def spectrum_arrays(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str, str]:
    """wavelength, flux, error and the wavelength and flux units of a 1-D spectrum
    (its first extracted spectrum when it holds several)."""
    try:
        with fits.open(path, memmap=False) as hdul:
            table = next((h for h in hdul if h.name in _SPECTRUM_TABLES), None)
            if table is None:
                raise PreviewError("the file has no EXTRACT1D or COMBINE1D table")
            columns = table.columns
            names = columns.names
            if "WAVELENGTH" not in names or "FLUX" not in names:
                raise PreviewError("the spectrum has no WAVELENGTH or FLUX column")
            wave = np.asarray(table.data["WAVELENGTH"], dtype=np.float64).ravel()
            flux = np.asarray(table.data["FLUX"], dtype=np.float64).ravel()
            error_name = next((n for n in _ERROR_COLUMNS if n in names), None)
            error = (
                np.asarray(table.data[error_name], dtype=np.float64).ravel() if error_name else None
            )
            units = columns["WAVELENGTH"].unit or "", columns["FLUX"].unit or ""
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise PreviewError(f"cannot read the spectrum: {exc}") from exc
    return wave, flux, error, units[0], units[1]


def jpeg(path: str, suffix: str, title: str) -> bytes:
    """The preview JPEG of the product at ``path``: an asinh-stretched image or a plot."""
    if suffix in PLOT_SUFFIXES:
        wave, flux, error, wave_unit, flux_unit = spectrum_arrays(path)
        if not (np.isfinite(wave) & np.isfinite(flux)).any():
            raise PreviewError("the spectrum has no finite point")
        return spectrum_picture(
            wave,
            flux,
            error,
            xlabel=f"wavelength ({wave_unit})" if wave_unit else "wavelength",
            ylabel=f"flux ({flux_unit})" if flux_unit else "flux",
            title=title,
            image_format="jpeg",
        )
    if suffix not in IMAGED:
        raise PreviewError(f"no preview is drawn for {suffix} products")
    picture, _ = image_picture(image_data(path, suffix), Stretch())
    return encode(picture, "JPEG")


def encode(picture: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if image_format == "JPEG" else {"optimize": False}
    picture.save(buffer, format=image_format, **options)
    return buffer.getvalue()
