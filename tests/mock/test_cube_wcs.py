"""Mock s3d cubes carry the gwcs cube_build attaches, so specutils reads them as it
reads real cubes: its ``JWST s3d`` reader gives the wavelength of every plane the
mock wrote, and the gwcs agrees with the FITS WCS of the same file (astropy)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from webbarchive.mock.cube_wcs import cube_gwcs


def _written_wavelengths(path) -> np.ndarray:
    """The wavelength (um) of each plane, from the cube's FITS header or WCS-TABLE."""
    with fits.open(path) as hdul:
        header = hdul["SCI"].header
        nz = header["NAXIS3"]
        if header["CTYPE3"] == "WAVE-TAB":
            return np.asarray(hdul["WCS-TABLE"].data["wavelength"], np.float64).ravel()
        k = np.arange(nz, dtype=np.float64)
        return header["CRVAL3"] + header["CDELT3"] * (k + 1 - header["CRPIX3"])


def _cubes(mock_dir):
    cubes = sorted(mock_dir.glob("*_s3d.fits"))
    assert cubes, "the small mock writes s3d cubes"
    kinds = {fits.getval(p, "CTYPE3", "SCI") for p in cubes}
    assert kinds == {"WAVE", "WAVE-TAB"}, kinds  # linear and tabulated axes both covered
    return cubes


def test_specutils_reads_mock_cubes(mock_dir):
    specutils = pytest.importorskip("specutils")
    reader = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    for path in _cubes(mock_dir):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spectrum = reader.read(path, format="JWST s3d")
        expected = _written_wavelengths(path)
        axis = spectrum.spectral_axis.to_value(u.um)
        np.testing.assert_allclose(axis, expected, rtol=1e-6, err_msg=path.name)
        assert spectrum.flux.shape[0] == expected.size  # (wavelength, y, x) as written
        np.testing.assert_array_equal(
            np.nan_to_num(spectrum.flux.value), np.nan_to_num(fits.getdata(path, "SCI"))
        )


def test_gwcs_agrees_with_the_fits_wcs(mock_dir):
    from stdatamodels.jwst import datamodels

    for path in _cubes(mock_dir):
        expected = _written_wavelengths(path)
        with datamodels.open(path) as model:
            gwcs = model.meta.wcs
            nz, ny, nx = model.data.shape
        with fits.open(path) as hdul:  # the HDU list holds a WAVE-TAB axis's table
            celestial = WCS(hdul["SCI"].header, fobj=hdul).celestial
        x, y = np.meshgrid(np.arange(nx), np.arange(ny))
        ra, dec, wave = gwcs(x.ravel(), y.ravel(), np.full(x.size, nz // 2))
        ra_f, dec_f = celestial.all_pix2world(x.ravel(), y.ravel(), 0)
        np.testing.assert_allclose(ra, ra_f, atol=1e-9)
        np.testing.assert_allclose(dec, dec_f, atol=1e-9)
        _, _, planes = gwcs(np.zeros(nz), np.zeros(nz), np.arange(nz))
        np.testing.assert_allclose(planes, expected, rtol=1e-6)


def test_tabulated_axis_for_uneven_planes():
    wave = np.array([0.6, 0.61, 0.63, 0.66, 0.7])
    gwcs = cube_gwcs((5, 3, 3), 359.9999, -89.99, 0.1 / 3600, wave)
    np.testing.assert_allclose(gwcs(np.ones(5), np.ones(5), np.arange(5))[2], wave)
    ra, dec, _ = gwcs(1.0, 1.0, 0.0)
    assert ra == pytest.approx(359.9999, abs=1e-9) and dec == pytest.approx(-89.99, abs=1e-9)
