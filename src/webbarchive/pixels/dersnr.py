"""DER_SNR: the signal-to-noise ratio of a spectrum from its fluxes alone.

Stoehr, Seaman, White et al. (2008), "DER_SNR: A Simple & General Spectroscopic
Signal-to-Noise Measurement Algorithm", ASP Conf. Ser. 394, 505::

    signal = median(f)
    noise  = 1.482602 / sqrt(6) * median(|2 f_i - f_{i-2} - f_{i+2}|)

over the finite fluxes, in their pixel order. The factor makes ``noise`` the
standard deviation of Gaussian noise that is uncorrelated between pixels
(six is the variance of 2 f_i - f_{i-2} - f_{i+2} in units of sigma^2).
"""

from __future__ import annotations

import math

import numpy as np

NOISE_FACTOR = 1.482602 / math.sqrt(6.0)


def der_snr(flux: np.ndarray) -> float | None:
    """DER_SNR of ``flux`` (any unit), or None when it is undefined: fewer than
    five finite fluxes (no second difference) or zero noise.

    >>> round(der_snr(np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0])), 6)
    1.652156
    """
    finite = np.asarray(flux, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    if finite.size < 5:
        return None
    return der_snr_of_finite(finite, float(np.median(finite)))


def der_snr_of_finite(finite: np.ndarray, signal: float) -> float | None:
    """DER_SNR of finite fluxes whose median ``signal`` the caller already has."""
    n = finite.size
    if n < 5:
        return None
    noise = NOISE_FACTOR * float(
        np.median(np.abs(2.0 * finite[2 : n - 2] - finite[0 : n - 4] - finite[4:n]))
    )
    if noise == 0.0:
        return None
    return signal / noise
