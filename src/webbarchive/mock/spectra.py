"""Spectral modes of the JWST spectrographs and synthetic 1-D spectra on their grids.

``MODES`` maps a mode name to its wavelength grid (microns); ``synthesize`` draws one
spectrum (wavelength, flux in Jy, flux_error in Jy, dq) from a random generator without
touching FITS. The FITS writers and the pixel-search benchmark both build on it, so there is
one implementation of what a mock spectrum looks like.

Grids follow the instruments: NIRSpec PRISM/CLEAR covers 0.6-5.3 um on ~430 pixels with a
dispersion that changes by an order of magnitude (R ~ 30 at 1.2 um to ~300 at 5 um); the M
gratings give ~1,200-1,450 pixels, the H gratings ~3,300; MIRI LRS 5-14 um on ~390 pixels;
MIRI MRS cubes sample each channel/band with the pipeline's default spectral steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Data-quality bits of the JWST pipeline (stdatamodels.jwst.datamodels.dqflags).
DO_NOT_USE = 1
SATURATED = 2
JUMP_DET = 4
OUTLIER = 16


@dataclass(frozen=True)
class SpectralMode:
    """One spectroscopic configuration and its wavelength grid (microns).

    ``dispersion`` is "linear" (gratings, MRS cubes) or "prism" (NIRSpec prism, MIRI LRS,
    where the pixel width in wavelength follows the resolving power curve).
    """

    name: str
    instrument: str  # NIRSPEC or MIRI
    filter: str | None  # FITS FILTER (None for MRS, where BAND/CHANNEL say it)
    grating: str | None  # FITS GRATING (NIRSpec) or None
    wave_min_um: float
    wave_max_um: float
    n_pixels: int
    dispersion: str = "linear"
    channel: str | None = None  # MRS channel "1".."4"
    band: str | None = None  # MRS band SHORT/MEDIUM/LONG

    @cached_property
    def wavelength(self) -> np.ndarray:
        """The grid, microns, float64, increasing."""
        if self.dispersion == "linear":
            return np.linspace(self.wave_min_um, self.wave_max_um, self.n_pixels)
        return _resolution_grid(self)

    @property
    def resolving_power(self) -> np.ndarray:
        """R = lambda / FWHM, assuming a resolution element of ~2 pixels."""
        wave = self.wavelength
        return wave / (2.0 * np.gradient(wave))


# NIRSpec PRISM resolving power (JDox "NIRSpec dispersers and filters"), and MIRI LRS.
_PRISM_R = ([0.6, 1.0, 1.2, 1.6, 2.0, 3.0, 4.0, 5.0, 5.3], [80, 40, 30, 35, 50, 100, 180, 290, 330])
_LRS_R = ([5.0, 7.5, 10.0, 12.0, 14.0], [40, 100, 160, 200, 250])


def _resolution_grid(mode: SpectralMode) -> np.ndarray:
    """A grid whose local step is proportional to lambda/R(lambda), with n_pixels points."""
    knots, powers = _PRISM_R if mode.instrument == "NIRSPEC" else _LRS_R
    fine = np.linspace(mode.wave_min_um, mode.wave_max_um, 20_000)
    density = np.interp(fine, knots, powers) / fine  # pixels per micron, up to a constant
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]))])
    cumulative /= cumulative[-1]
    return np.interp(np.linspace(0.0, 1.0, mode.n_pixels), cumulative, fine)


def _mrs_modes() -> list[SpectralMode]:
    # Band edges (um) from JDox MIRI MRS; spectral steps of the pipeline's cube parameters.
    bands = {
        "1": ([(4.90, 5.74), (5.66, 6.63), (6.53, 7.65)], 0.0008),
        "2": ([(7.51, 8.77), (8.67, 10.13), (10.02, 11.70)], 0.0013),
        "3": ([(11.55, 13.47), (13.34, 15.57), (15.41, 17.98)], 0.0025),
        "4": ([(17.70, 20.95), (20.69, 24.48), (24.19, 27.90)], 0.0060),
    }
    modes = []
    for channel, (edges, step) in bands.items():
        for band, (low, high) in zip(("SHORT", "MEDIUM", "LONG"), edges, strict=True):
            n = int(round((high - low) / step)) + 1
            modes.append(
                SpectralMode(
                    f"miri_mrs_ch{channel}-{band.lower()}",
                    "MIRI",
                    None,
                    None,
                    low,
                    high,
                    n,
                    channel=channel,
                    band=band,
                )
            )
    return modes


def _nirspec_modes() -> list[SpectralMode]:
    table = [
        ("CLEAR", "PRISM", 0.60, 5.30, 431, "prism"),
        ("F070LP", "G140M", 0.70, 1.27, 1300, "linear"),
        ("F100LP", "G140M", 0.97, 1.89, 1426, "linear"),
        ("F170LP", "G235M", 1.66, 3.17, 1300, "linear"),
        ("F290LP", "G395M", 2.87, 5.27, 1215, "linear"),
        ("F100LP", "G140H", 0.97, 1.89, 3400, "linear"),
        ("F170LP", "G235H", 1.66, 3.17, 3400, "linear"),
        ("F290LP", "G395H", 2.87, 5.27, 3400, "linear"),
    ]
    return [
        SpectralMode(f"nirspec_{g.lower()}_{f.lower()}", "NIRSPEC", f, g, lo, hi, n, disp)
        for f, g, lo, hi, n, disp in table
    ]


MODES: dict[str, SpectralMode] = {
    mode.name: mode
    for mode in [
        *_nirspec_modes(),
        SpectralMode("miri_lrs_p750l", "MIRI", "P750L", None, 5.0, 14.0, 388, "prism"),
        *_mrs_modes(),
    ]
}

# Rest-frame lines (um): hydrogen recombination, forbidden lines, PAH features.
_LINES_UM = np.array(
    [0.1216, 0.3727, 0.4861, 0.4959, 0.5007, 0.6563, 0.6583, 0.6716, 0.9069, 0.9531]
    + [1.0830, 1.2818, 1.8751, 2.1218, 3.3, 4.05, 6.2, 7.7, 8.6, 11.3, 12.7, 12.81]
    + [15.55, 17.03, 18.71, 25.89]
)
_LINE_WEIGHTS = np.array(
    [3.0, 1.5, 1.0, 1.2, 3.5, 3.0, 0.8, 0.4, 0.5, 1.2]
    + [0.6, 0.5, 0.9, 0.2, 1.0, 0.4, 1.5, 2.5, 1.0, 2.0, 1.0, 1.2]
    + [1.0, 0.6, 0.8, 0.5]
)


@dataclass
class Spectrum:
    """One extracted spectrum: microns, Jy, Jy and DQ bits (uint32)."""

    wavelength: np.ndarray
    flux: np.ndarray
    flux_error: np.ndarray
    dq: np.ndarray
    redshift: float


def synthesize(
    rng: np.random.Generator,
    mode: SpectralMode | str,
    *,
    redshift: float | None = None,
    continuum_jy: float | None = None,
) -> Spectrum:
    """Draw one spectrum on ``mode``'s grid: a power-law continuum (f_nu, Jy) with emission
    lines at ``redshift``, Gaussian noise whose sigma is ``flux_error``, NaN over a few edge
    pixels (flagged DO_NOT_USE) and a sprinkling of other DQ flags.

    Examples
    --------
    >>> spec = synthesize(np.random.default_rng(1), "nirspec_prism_clear", redshift=5.2)
    >>> spec.wavelength.size
    431
    """
    if isinstance(mode, str):
        mode = MODES[mode]
    wave = mode.wavelength
    n = wave.size
    if redshift is None:
        redshift = float(
            rng.uniform(0.5, 9.0) if mode.instrument == "NIRSPEC" else rng.uniform(0, 2)
        )
    if continuum_jy is None:
        # Faint galaxies for NIRSpec (0.1-10 uJy); brighter, dusty sources for MIRI.
        low, high = (-7.0, -5.0) if mode.instrument == "NIRSPEC" else (-5.0, -2.5)
        continuum_jy = float(10 ** rng.uniform(low, high))
    pivot = 0.5 * (wave[0] + wave[-1])
    slope = rng.uniform(-1.5, 2.0)
    model = continuum_jy * (wave / pivot) ** slope

    observed = _LINES_UM * (1.0 + redshift)
    inside = (observed > wave[0]) & (observed < wave[-1])
    sigma = wave / (2.355 * mode.resolving_power)
    for center, weight in zip(observed[inside], _LINE_WEIGHTS[inside], strict=True):
        width = float(np.interp(center, wave, sigma))
        # Peak set by an equivalent width of ~weight * 100 A rest-frame.
        equivalent_width = weight * 0.01 * (1.0 + redshift) * rng.uniform(0.3, 3.0)
        peak = continuum_jy * equivalent_width / (width * np.sqrt(2 * np.pi))
        model = model + peak * np.exp(-0.5 * ((wave - center) / width) ** 2)

    snr = rng.uniform(3.0, 30.0)
    flux_error = np.full(n, continuum_jy / snr) * (1.0 + 0.3 * ((wave - pivot) / pivot) ** 2)
    flux = model + rng.normal(0.0, 1.0, n) * flux_error

    dq = np.zeros(n, dtype=np.uint32)
    bad = rng.random(n) < 0.01
    dq[bad] |= rng.choice(np.array([SATURATED, JUMP_DET, OUTLIER], dtype=np.uint32), bad.sum())
    lead, trail = rng.integers(2, 12, size=2)
    edges = np.zeros(n, dtype=bool)
    edges[:lead] = True
    edges[n - trail :] = True
    flux[edges] = np.nan
    flux_error[edges] = np.nan
    dq[edges] |= DO_NOT_USE
    return Spectrum(wave.copy(), flux, flux_error, dq, float(redshift))
