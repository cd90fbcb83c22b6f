"""DER_SNR against hand-computed values, an explicit-loop implementation and a
transcription of the published reference function, on synthetic and real spectra."""

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.pixels.synthetic import der_snr_loop
from webbarchive.pixels.dersnr import der_snr
from webbarchive.pixels.extract import extract


def reference_der_snr(flux) -> float:
    """Stoehr et al. (2008), transcribed from the paper's formula and its published
    ``der_snr.py``, with the constant 1.482602 / sqrt(6): zero fluxes (padding) are
    skipped; 0.0 when four or fewer remain; NaN fluxes make the result NaN."""
    flux = np.array(flux, dtype=np.float64).ravel()
    flux = flux[np.where(flux != 0.0)]
    n = len(flux)
    if n <= 4:
        return 0.0
    signal = np.median(flux)
    noise = (
        1.482602
        / math.sqrt(6.0)
        * np.median(np.abs(2.0 * flux[2 : n - 2] - flux[0 : n - 4] - flux[4:n]))
    )
    return float(signal / noise)


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


def _padded_spectrum(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy continuum, and the same with zero padding at both ends and in a gap
    (as the JWST pipeline pads where it extracted nothing)."""
    rng = np.random.default_rng(seed)
    flux = 3.0 + np.linspace(0.0, 1.0, 400) + rng.normal(0, 0.4, 400)
    padded = np.concatenate([np.zeros(37), flux[:250], np.zeros(20), flux[250:], np.zeros(16)])
    return flux, padded


@pytest.mark.parametrize("seed", range(5))
def test_zero_fluxes_are_skipped_as_the_reference_does(seed):
    flux, padded = _padded_spectrum(seed)
    assert der_snr(padded) == pytest.approx(reference_der_snr(padded), rel=1e-12)
    # Skipping the padding leaves the spectrum itself, and its own S/N.
    assert der_snr(padded) == pytest.approx(reference_der_snr(flux), rel=1e-12)
    assert der_snr(padded) == pytest.approx(der_snr(flux), rel=1e-12)
    assert der_snr(padded) == pytest.approx(der_snr_loop(padded), rel=1e-12)


def test_non_finite_fluxes_are_skipped_like_zero_ones():
    # The reference answers NaN when any flux is NaN; the archive skips them, as the
    # other marker of "no data", so it equals the reference on the finite fluxes.
    flux, padded = _padded_spectrum(7)
    padded[[3, 100, 101, 300]] = [np.nan, np.inf, np.nan, -np.inf]
    assert math.isnan(reference_der_snr(padded))
    finite = padded[np.isfinite(padded)]
    assert der_snr(padded) == pytest.approx(reference_der_snr(finite), rel=1e-12)


def test_undefined_where_the_reference_has_no_value():
    # Four non-zero fluxes among padding: the reference returns 0.0, the archive None.
    flux = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0])
    assert reference_der_snr(flux) == 0.0
    assert der_snr(flux) is None


def _real_spectra(real_dir: Path) -> list[tuple[str, np.ndarray]]:
    spectra = []
    for path in sorted((real_dir / "spectra").glob("*.fits")):
        with fits.open(path) as hdul:
            for hdu in hdul:
                if hdu.name in ("EXTRACT1D", "COMBINE1D"):
                    spectra.append((path.name, np.asarray(hdu.data["FLUX"], np.float64)))
    if not spectra:
        pytest.skip(f"no real one-dimensional spectra in {real_dir / 'spectra'}")
    return spectra


def test_real_spectra_match_the_reference(real_dir):
    compared = 0
    for name, flux in _real_spectra(real_dir):
        expected = reference_der_snr(flux)
        if not np.isfinite(expected) or expected == 0.0:
            # jw01492's x1d: every flux is NaN or zero, nothing to measure.
            assert der_snr(flux) is None, name
            continue
        assert der_snr(flux) == pytest.approx(expected, rel=1e-12), name
        compared += 1
    assert compared >= 2


def test_real_jw02736_x1d_as_published(real_dir):
    path = real_dir / "spectra" / "jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
    if not path.exists():
        pytest.skip(f"{path.name} is absent")
    flux = np.asarray(fits.getdata(path, "EXTRACT1D")["FLUX"], np.float64)
    assert (flux == 0.0).sum() == 73
    assert round(reference_der_snr(flux), 4) == 0.1105
    # The value the pixel store keeps for the file is the reference's.
    assert extract(str(path), "x1d").derSnr == pytest.approx(reference_der_snr(flux), rel=1e-12)
