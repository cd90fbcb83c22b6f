"""Pixel extraction against the real files (read independently with astropy)."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from webbarchive.pixels.dersnr import der_snr
from webbarchive.pixels.extract import extract, from_arrays


def _real(real_dir: Path, pattern: str) -> list[Path]:
    files = sorted((real_dir / "spectra").glob(pattern))
    if not files:
        pytest.skip(f"no real {pattern} files")
    return files


def test_real_x1d_pixels_are_the_extract1d_columns(real_dir):
    for path in _real(real_dir, "*_x1d.fits"):
        table = fits.getdata(path, "EXTRACT1D")
        keep = np.isfinite(table["WAVELENGTH"])
        pixels = extract(str(path), "x1d")
        assert pixels.kind == "1d" and pixels.y is None
        assert pixels.npix == keep.sum()
        np.testing.assert_array_equal(pixels.wavelength, table["WAVELENGTH"][keep])
        np.testing.assert_array_equal(pixels.flux, table["FLUX"][keep])
        np.testing.assert_array_equal(pixels.flux_error, table["FLUX_ERROR"][keep])
        np.testing.assert_array_equal(pixels.x, np.flatnonzero(keep))
        assert pixels.derSnr == der_snr(table["FLUX"])


def test_real_s2d_wavelengths_match_the_x1d_grid(real_dir):
    # The x1d of a NIRSpec slit is extracted column by column from its s2d: the
    # gwcs wavelength of each s2d column equals the x1d wavelength at that index.
    for path in _real(real_dir, "*_s2d.fits"):
        x1d = Path(str(path).replace("_s2d", "_x1d"))
        if not x1d.exists():
            continue
        pixels = extract(str(path), "s2d")
        sci = fits.getdata(path, "SCI")
        assert pixels.kind == "2d"
        assert pixels.npix <= sci.size
        wave_x1d = fits.getdata(x1d, "EXTRACT1D")["WAVELENGTH"]
        middle = pixels.y == sci.shape[0] // 2
        np.testing.assert_allclose(pixels.wavelength[middle], wave_x1d[pixels.x[middle]], rtol=1e-6)
        np.testing.assert_array_equal(pixels.flux, sci[pixels.y, pixels.x])


def test_non_finite_wavelengths_are_dropped():
    wave = np.array([1.0, np.nan, 1.2, 1.3, 1.4, 1.5])
    pixels = from_arrays(wave, np.arange(6.0))
    assert pixels.npix == 5
    assert list(pixels.x) == [0, 2, 3, 4, 5]
    chars = pixels.characteristics()
    assert chars["wavelength_min"] == 1.0 and chars["wavelength_max"] == 1.5
    assert chars["flux_min"] == 0.0 and chars["flux_max"] == 5.0
