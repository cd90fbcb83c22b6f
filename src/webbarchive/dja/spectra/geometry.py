"""NIRSpec MSA shutter footprints on the sky, from the SIAF that pysiaf ships.

Shutter (row, column) -> telescope (V2, V3) arcsec: a cubic polynomial per quadrant
fitted to pysiaf's NIRSpec delivery tables ``sky_fpa_projectionMSA_Q{1..4}.fits``
(every shutter centre's V2/V3), as msaexp's ``MSAMetafile.regions_from_metafile_siaf``
does; (V2, V3) -> (RA, Dec) with pysiaf's attitude matrix for the exposure's
``RA_REF``/``DEC_REF``/``ROLL_REF`` at ``V2_REF``/``V3_REF``.

Corners are shrunk for the opaque bars between shutters, by (1 - 0.07/0.27/2) along
the row (dispersion) and (1 - 0.07/0.53/2) along the column (spatial), as DJA does.
A footprint is then about 0.235" x 0.495" (pitch less half a bar).
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from webbarchive.siaf import pysiaf

#: Shutter pitch (arcsec) and bar width used for the vignetting shrink (DJA).
BAR_ARCSEC = 0.07
PITCH_DISPERSION_ARCSEC = 0.27
PITCH_SPATIAL_ARCSEC = 0.53
_SX = np.array([-0.5, 0.5, 0.5, -0.5]) * (1 - BAR_ARCSEC / PITCH_DISPERSION_ARCSEC / 2)
_SY = np.array([-0.5, -0.5, 0.5, 0.5]) * (1 - BAR_ARCSEC / PITCH_SPATIAL_ARCSEC / 2)
_DEGREE = 3


def _terms(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return np.stack([i**a * j**b for a in range(_DEGREE + 1) for b in range(_DEGREE + 1 - a)], -1)


def _siaf_table(quadrant: int) -> str:
    return os.path.join(
        os.path.dirname(pysiaf().__file__),
        "source_data/NIRSpec/delivery/test_data/apertures_testData",
        f"sky_fpa_projectionMSA_Q{quadrant}.fits",
    )


@lru_cache(maxsize=4)
def shutter_transform(quadrant: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomial coefficients (row, column) -> (V2, V3) arcsec for one quadrant.

    Fitted to every third shutter of pysiaf's table: the fit residual is below
    0.001" (the table itself is smooth), and a third of the rows fits 3x faster.
    """
    from astropy.io import fits

    if quadrant not in (1, 2, 3, 4):
        raise ValueError(f"MSA quadrant must be 1..4 (got {quadrant})")
    with fits.open(_siaf_table(quadrant), memmap=False) as hdul:
        data = hdul[1].data[::3]
        i = np.asarray(data["I"], float)
        j = np.asarray(data["J"], float)
        v2 = np.asarray(data["XPOSSKY"], float) * 3600.0
        v3 = np.asarray(data["YPOSSKY"], float) * 3600.0
    design = _terms(i, j)
    c2 = np.linalg.lstsq(design, v2, rcond=None)[0]
    c3 = np.linalg.lstsq(design, v3, rcond=None)[0]
    return c2, c3


def shutter_v2v3(quadrant: int, row, column) -> tuple[np.ndarray, np.ndarray]:
    """V2, V3 (arcsec) of fractional shutter positions (row 1..365, column 1..171;
    integer values are shutter centres)."""
    c2, c3 = shutter_transform(int(quadrant))
    design = _terms(np.asarray(row, float), np.asarray(column, float))
    return design @ c2, design @ c3


class Pointing:
    """An exposure's attitude: RA_REF/DEC_REF/ROLL_REF (deg) at V2_REF/V3_REF (arcsec)."""

    def __init__(
        self, ra_ref: float, dec_ref: float, roll_ref: float, v2_ref: float, v3_ref: float
    ):
        rotations = pysiaf().utils.rotations

        self.values = (ra_ref, dec_ref, roll_ref, v2_ref, v3_ref)
        self._attitude = rotations.attitude(v2_ref, v3_ref, ra_ref, dec_ref, roll_ref)

    def sky(self, v2, v3) -> tuple[np.ndarray, np.ndarray]:
        """RA, Dec (deg) of V2, V3 (arcsec)."""
        rotations = pysiaf().utils.rotations

        ra, dec = rotations.pointing(self._attitude, np.asarray(v2, float), np.asarray(v3, float))
        return np.asarray(ra) % 360.0, np.asarray(dec)


def shutter_corners(pointing: Pointing, quadrant: int, row: int, column: int, with_bars=True):
    """The four sky corners (RA, Dec deg) of one shutter, bar-shrunk by default."""
    sx = _SX if with_bars else np.array([-0.5, 0.5, 0.5, -0.5])
    sy = _SY if with_bars else np.array([-0.5, -0.5, 0.5, 0.5])
    v2, v3 = shutter_v2v3(quadrant, row + sx, column + sy)
    return pointing.sky(v2, v3)


def source_in_shutter(pointing: Pointing, quadrant: int, row: int, column: int, x: float, y: float):
    """Sky position (RA, Dec deg) of a fractional position (x, y in 0..1) in a shutter,
    as ``estimated_source_in_shutter_x/y`` give it."""
    v2, v3 = shutter_v2v3(quadrant, row + x - 0.5, column + y - 0.5)
    ra, dec = pointing.sky(v2, v3)
    return float(ra), float(dec)


def shutter_of_v2v3(v2: float, v3: float) -> tuple[int, float, float] | None:
    """The inverse of :func:`shutter_v2v3`: ``(quadrant, row, column)`` with fractional
    row/column (integers are shutter centres) of the MSA point at V2, V3 (arcsec), or
    None outside the four quadrants (the gaps between them included).

    Newton iterations on the cubic per quadrant, started at its centre shutter: the map
    is nearly linear, so a few steps reach 1e-6 shutter."""
    target = np.array([v2, v3], float)
    for quadrant in (1, 2, 3, 4):
        x = np.array([183.0, 86.0])
        for _ in range(20):
            f = np.array([a[0] for a in shutter_v2v3(quadrant, [x[0]], [x[1]])])
            jac = np.empty((2, 2))
            for k in range(2):
                dx = x.copy()
                dx[k] += 1.0
                jac[:, k] = np.array([a[0] for a in shutter_v2v3(quadrant, [dx[0]], [dx[1]])]) - f
            step = np.linalg.solve(jac, target - f)
            x = x + step
            if np.max(np.abs(step)) < 1e-7:
                break
        if 0.5 <= x[0] < 365.5 and 0.5 <= x[1] < 171.5:
            return quadrant, float(x[0]), float(x[1])
    return None


def sky_to_shutter(pointing: Pointing, ra: float, dec: float) -> tuple[int, float, float] | None:
    """``(quadrant, row, column)`` (fractional) of the MSA point that sees (RA, Dec) deg
    during ``pointing``, or None when it falls outside the MSA."""
    from pysiaf.utils import rotations

    v2, v3 = rotations.getv2v3(pointing._attitude, float(ra), float(dec))
    return shutter_of_v2v3(float(v2), float(v3))


def format_footprint(ra, dec) -> str:
    """``((ra,dec),(ra,dec),...)`` with 6 decimals, as the DJA API prints polygons."""
    return "(" + ",".join(f"({r:.6f},{d:.6f})" for r, d in zip(ra, dec, strict=True)) + ")"


def parse_footprint(text: str) -> list[tuple[float, float]]:
    """Vertices of a ``((ra,dec),...)`` polygon string."""
    numbers = [float(v) for v in text.replace("(", " ").replace(")", " ").replace(",", " ").split()]
    return list(zip(numbers[0::2], numbers[1::2], strict=True))
