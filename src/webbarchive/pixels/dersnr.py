"""DER_SNR: the signal-to-noise ratio of a spectrum from its fluxes alone.

Stoehr, Seaman, White et al. (2008), "DER_SNR: A Simple & General Spectroscopic
Signal-to-Noise Measurement Algorithm", ASP Conf. Ser. 394, 505, and its
published ``der_snr.py``::

    signal = median(f)
    noise  = 1.482602 / sqrt(6) * median(|2 f_i - f_{i-2} - f_{i+2}|)

over the fluxes in their pixel order, skipping those that are exactly zero:
the reference treats them as padding, and the JWST pipeline writes zero where
it extracted nothing (the real jw02736-o007_s06355 x1d has 73 such pixels;
keeping them gives 0.0377 where the reference gives 0.1105). Non-finite
fluxes are skipped the same way, as the other marker of "no data" (the
reference's ``median`` would return NaN for the whole spectrum). The factor
makes ``noise`` the standard deviation of Gaussian noise that is uncorrelated
between pixels (six is the variance of 2 f_i - f_{i-2} - f_{i+2} in units of
sigma^2).
"""

from __future__ import annotations

import math

import numpy as np

NOISE_FACTOR = 1.482602 / math.sqrt(6.0)


def der_snr_fluxes(flux: np.ndarray) -> np.ndarray:
    """The fluxes DER_SNR reads: finite and not exactly zero, in pixel order (float64)."""
    values = np.asarray(flux, dtype=np.float64).ravel()
    return values[np.isfinite(values) & (values != 0.0)]


def der_snr(flux: np.ndarray) -> float | None:
    """DER_SNR of ``flux`` (any unit), or None when it is undefined: fewer than
    five finite non-zero fluxes (no second difference) or zero noise. The
    reference returns 0.0 for the first case and divides by zero in the second;
    None says "undefined" without posing as a measurement.

    >>> round(der_snr(np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0])), 6)
    1.652156
    """
    used = der_snr_fluxes(flux)
    n = used.size
    if n < 5:
        return None
    noise = NOISE_FACTOR * float(
        np.median(np.abs(2.0 * used[2 : n - 2] - used[0 : n - 4] - used[4:n]))
    )
    if noise == 0.0:
        return None
    return float(np.median(used)) / noise
