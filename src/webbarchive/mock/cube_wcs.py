"""The gwcs of an s3d cube, as the pipeline's cube_build attaches it (``meta.wcs``,
written to the ASDF extension), so specutils' ``JWST s3d`` reader and jdaviz read a
mock cube as they read a real one.

The FITS WCS the mock also writes (``wcsinfo``: a TAN celestial plane and a linear
``WAVE`` or tabulated ``WAVE-TAB`` axis) and this gwcs describe the same mapping:
pixel ``(x, y, z)`` (0-based, as gwcs counts) to RA, Dec (degrees, ICRS) and
wavelength (microns).
"""

from __future__ import annotations

import numpy as np
from astropy import coordinates as coord
from astropy import units as u
from astropy.modeling import models
from gwcs import WCS
from gwcs import coordinate_frames as cf


def cube_gwcs(
    shape: tuple[int, int, int],
    ra_deg: float,
    dec_deg: float,
    spaxel_deg: float,
    wavelength_um: np.ndarray,
) -> WCS:
    """The gwcs of a north-up cube of ``shape`` (nz, ny, nx) centred on
    ``(ra_deg, dec_deg)`` (FITS CRPIX at the centre) with square spaxels of
    ``spaxel_deg``, RA increasing to the left (PC1_1 = -1), and plane ``z`` at
    ``wavelength_um[z]``: a linear axis when the planes are evenly spaced, else a
    lookup table (as cube_build writes prism cubes)."""
    nz, ny, nx = shape
    wavelength_um = np.asarray(wavelength_um, dtype=np.float64)
    celestial = (
        (models.Shift(-(nx - 1) / 2.0) & models.Shift(-(ny - 1) / 2.0))
        | (models.Scale(-spaxel_deg) & models.Scale(spaxel_deg))
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(ra_deg % 360.0, dec_deg, 180.0)
    )
    step = np.diff(wavelength_um)
    if nz > 1 and np.allclose(step, step[0], rtol=1e-6, atol=0.0):
        spectral = models.Scale(float(step[0])) | models.Shift(float(wavelength_um[0]))
    else:
        spectral = models.Tabular1D(
            points=np.arange(nz, dtype=np.float64),
            lookup_table=wavelength_um,
            bounds_error=False,
            fill_value=np.nan,
        )
    transform = (celestial & spectral).rename("detector_to_world")
    detector = cf.CoordinateFrame(
        naxes=3, axes_type=("SPATIAL", "SPATIAL", "SPECTRAL"), axes_order=(0, 1, 2),
        axes_names=("x", "y", "z"), unit=(u.pix, u.pix, u.pix), name="detector",
    )  # fmt: skip
    sky = cf.CelestialFrame(
        name="sky", axes_order=(0, 1), reference_frame=coord.ICRS(), axes_names=("RA", "DEC")
    )
    spectrum = cf.SpectralFrame(
        name="spectral", axes_order=(2,), unit=(u.micron,), axes_names=("wavelength",)
    )
    wcs = WCS([(detector, transform), (cf.CompositeFrame([sky, spectrum], name="world"), None)])
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5), (-0.5, nz - 0.5))
    return wcs
