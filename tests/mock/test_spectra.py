"""The array-only spectrum path (``webbarchive.mock.spectra``) shared by the FITS writer
and the pixel-search benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from webbarchive.mock.spectra import DO_NOT_USE, MODES, synthesize


def test_modes_cover_every_spectrograph_configuration():
    names = set(MODES)
    assert {"nirspec_prism_clear", "nirspec_g395m_f290lp", "nirspec_g395h_f290lp",
            "miri_lrs_p750l"} <= names  # fmt: skip
    assert {f"miri_mrs_ch{c}-{b}" for c in "1234" for b in ("short", "medium", "long")} <= names


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("miri_mrs_ch1-short", 4.90, 5.74), ("miri_mrs_ch2-long", 10.02, 11.70),
     ("miri_mrs_ch4-long", 24.19, 27.90), ("nirspec_g235m_f170lp", 1.66, 3.17)],
)  # fmt: skip
def test_band_edges_are_the_documented_ones(name, low, high):
    wave = MODES[name].wavelength
    assert wave[0] == pytest.approx(low) and wave[-1] == pytest.approx(high)


def test_prism_resolving_power_follows_the_documented_curve():
    mode = MODES["nirspec_prism_clear"]
    power = mode.resolving_power
    wave = mode.wavelength
    # JDox: R ~ 30 near 1.2 um, rising to ~300 at 5 um.
    assert np.interp(1.2, wave, power) == pytest.approx(30, rel=0.3)
    assert np.interp(5.0, wave, power) == pytest.approx(290, rel=0.3)


def test_synthesize_returns_consistent_arrays():
    spectrum = synthesize(np.random.default_rng(3), "nirspec_g395m_f290lp", redshift=4.0)
    n = MODES["nirspec_g395m_f290lp"].n_pixels
    assert spectrum.wavelength.shape == spectrum.flux.shape == spectrum.dq.shape == (n,)
    assert spectrum.dq.dtype == np.uint32
    edges = np.isnan(spectrum.flux)
    assert edges[0] and edges[-1] and np.all(spectrum.dq[edges] & DO_NOT_USE)
    # [OIII] 5007 at z=4 lands at 2.5 um (outside); H-alpha at 3.28 um is inside: a line peak.
    halpha = np.argmin(np.abs(spectrum.wavelength - 0.6563 * 5.0))
    window = spectrum.flux[halpha - 40 : halpha + 40]
    assert np.nanmax(window) > np.nanmedian(spectrum.flux) + 3 * np.nanmedian(spectrum.flux_error)


def test_flux_error_describes_the_noise():
    """Pixel-to-pixel differences of a smooth continuum are noise: their spread, in units of
    the quoted errors, is 1 (robust estimate, lines excluded by the median)."""
    rng = np.random.default_rng(11)
    ratios = []
    for _ in range(20):
        spectrum = synthesize(rng, "nirspec_g140h_f100lp", redshift=0.01)
        flux, error = spectrum.flux, spectrum.flux_error
        diff = np.diff(flux) / np.hypot(error[1:], error[:-1])
        diff = diff[np.isfinite(diff)]
        ratios.append(1.4826 * np.median(np.abs(diff - np.median(diff))))
    assert np.median(ratios) == pytest.approx(1.0, abs=0.1)


def test_same_generator_state_gives_the_same_spectrum():
    a = synthesize(np.random.default_rng(5), "miri_lrs_p750l")
    b = synthesize(np.random.default_rng(5), "miri_lrs_p750l")
    c = synthesize(np.random.default_rng(6), "miri_lrs_p750l")
    assert np.array_equal(a.flux, b.flux, equal_nan=True)
    assert not np.array_equal(a.flux, c.flux, equal_nan=True)
