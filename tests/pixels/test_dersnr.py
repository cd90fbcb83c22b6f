"""DER_SNR against hand-computed values and an explicit-loop implementation."""

import math

import numpy as np
import pytest

from tests.pixels.synthetic import der_snr_loop
from webbarchive.pixels.dersnr import der_snr


def test_hand_computed():
    # f = 1 1 2 1 1 1: second differences at i=2,3 are |4-1-1|=2 and |2-1-1|=0,
    # median 1; signal median 1 -> 1 / (1.482602/sqrt(6)) = 1.6521559...
    assert der_snr(np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0])) == pytest.approx(
        math.sqrt(6) / 1.482602, rel=1e-12
    )
    # A straight line has no noise at all: undefined, not infinite.
    assert der_snr(np.arange(10.0)) is None
    # 5 points 3 4 8 4 3: one difference |16-3-3| = 10, signal 4 -> 4 / (10 * 0.60527)
    assert der_snr(np.array([3.0, 4.0, 8.0, 4.0, 3.0])) == pytest.approx(
        4.0 / (10.0 * 1.482602 / math.sqrt(6)), rel=1e-12
    )


def test_too_few_finite_fluxes():
    assert der_snr(np.array([1.0, 2.0, 3.0, 4.0])) is None
    assert der_snr(np.array([1.0, np.nan, 2.0, 3.0, np.inf, 5.0])) is None


def test_non_finite_fluxes_are_dropped_before_differencing():
    flux = np.array([1.0, np.nan, 1.0, 2.0, 1.0, np.nan, 1.0, 1.0])
    assert der_snr(flux) == pytest.approx(der_snr(np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0])))


@pytest.mark.parametrize("seed", range(5))
def test_matches_an_independent_loop(seed):
    rng = np.random.default_rng(seed)
    flux = 50.0 + rng.normal(0, 2.0, 500)
    flux[rng.random(500) < 0.05] = np.nan
    assert der_snr(flux) == pytest.approx(der_snr_loop(flux), rel=1e-12)


def test_measures_gaussian_noise():
    # The factor makes DER_SNR the true S/N for white Gaussian noise.
    rng = np.random.default_rng(0)
    flux = 100.0 + rng.normal(0, 5.0, 200_000)
    assert der_snr(flux) == pytest.approx(20.0, rel=0.02)
