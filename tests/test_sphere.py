"""The one tangent-plane projection and planar tests (webbarchive.sphere),
held against astropy (WCS TAN, SkyCoord) and against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from webbarchive import sphere

CENTRES = [(53.16, -27.78), (0.0, 0.0), (359.9, 10.0), (150.1, 89.0), (210.0, -89.5)]


def _tan_wcs(ra0: float, dec0: float) -> WCS:
    """A TAN WCS whose pixel coordinates are intermediate world coordinates in
    degrees (x east, y north): CDELT1 = -1 makes pixel x grow to the east."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = [1.0, 1.0]  # FITS pixel 1 is pixel 0 with origin=0
    wcs.wcs.cdelt = [-1.0, 1.0]
    return wcs


def _points_near(ra0: float, dec0: float, n: int, radius_deg: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    centre = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    pa = rng.uniform(0, 360, n) * u.deg
    sep = radius_deg * np.sqrt(rng.uniform(0, 1, n)) * u.deg
    points = centre.directional_offset_by(pa, sep)
    return points.ra.deg, points.dec.deg


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_to_tangent_is_astropy_tan(ra0, dec0):
    if abs(dec0) > 88:  # at the pole east is a convention; checked below
        pytest.skip("the basis at a pole is tested separately")
    ra, dec = _points_near(ra0, dec0, 200, 20.0)
    x, y, front = sphere.to_tangent(ra, dec, ra0, dec0)
    px, py = _tan_wcs(ra0, dec0).all_world2pix(ra, dec, 0)
    assert front.all()
    # CDELT1 = -1: pixel x is minus the intermediate (east) coordinate, in degrees.
    np.testing.assert_allclose(np.degrees(x), -px, atol=1e-9)
    np.testing.assert_allclose(np.degrees(y), py, atol=1e-9)


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_from_tangent_inverts_to_tangent(ra0, dec0):
    ra, dec = _points_near(ra0, dec0, 200, 30.0)
    x, y, _ = sphere.to_tangent(ra, dec, ra0, dec0)
    back_ra, back_dec = sphere.from_tangent(x, y, ra0, dec0)
    sep = SkyCoord(back_ra, back_dec, unit="deg").separation(SkyCoord(ra, dec, unit="deg"))
    assert sep.max().to_value(u.arcsec) < 1e-6


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_tangent_radius_is_the_tangent_of_the_separation(ra0, dec0):
    ra, dec = _points_near(ra0, dec0, 200, 60.0)
    x, y, _ = sphere.to_tangent(ra, dec, ra0, dec0)
    sep = SkyCoord(ra, dec, unit="deg").separation(SkyCoord(ra0, dec0, unit="deg"))
    np.testing.assert_allclose(np.hypot(x, y), np.tan(sep.radian), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("ra0", "dec0"), CENTRES)
def test_east_and_north_follow_position_angle(ra0, dec0):
    """A point offset at position angle 0 (north) lies on +y, at 90 (east) on +x,
    the directions SkyCoord.directional_offset_by uses; at a pole the basis
    takes ra0's direction of increasing RA for east."""
    centre = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    north = centre.directional_offset_by(0 * u.deg, 0.01 * u.deg)
    east = centre.directional_offset_by(90 * u.deg, 0.01 * u.deg)
    xn, yn, _ = sphere.to_tangent(north.ra.deg, north.dec.deg, ra0, dec0)
    xe, ye, _ = sphere.to_tangent(east.ra.deg, east.dec.deg, ra0, dec0)
    if abs(dec0) < 88:
        assert yn > 0 and abs(xn) < 1e-9
        assert xe > 0 and abs(ye) < 1e-9
    else:
        # Orthogonal and of the same length, whatever the pole's convention.
        assert np.hypot(xn, yn) == pytest.approx(np.hypot(xe, ye), rel=1e-6)
        assert xn * xe + yn * ye == pytest.approx(0.0, abs=1e-9)


def test_points_behind_the_plane_are_marked():
    x, y, front = sphere.to_tangent([10.0, 190.0, 100.0], [0.0, 0.0, 0.0], 10.0, 0.0)
    assert front.tolist() == [True, False, False]


def test_angular_distance_matches_skycoord():
    rng = np.random.default_rng(3)
    ra1, ra2 = rng.uniform(0, 360, (2, 500))
    dec1, dec2 = np.degrees(np.arcsin(rng.uniform(-1, 1, (2, 500))))
    truth = SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg
    np.testing.assert_allclose(sphere.angular_distance_deg(ra1, dec1, ra2, dec2), truth, atol=1e-9)


def test_inside_matches_a_brute_force_count():
    """Crossing number against a dense grid test: a point is inside a convex
    polygon when it is left of every counter-clockwise edge."""
    rng = np.random.default_rng(5)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 7))
    px, py = np.cos(angles), np.sin(angles)
    qx, qy = rng.uniform(-1.2, 1.2, (2, 2000))
    got = sphere.inside(px, py, qx, qy)
    ex, ey = np.roll(px, -1) - px, np.roll(py, -1) - py
    left = (ex[:, None] * (qy - py[:, None]) - ey[:, None] * (qx - px[:, None])) > 0
    np.testing.assert_array_equal(got, left.all(axis=0))


def _cross_solved(a, b, c, d) -> bool:
    """Do segments a-b and c-d (not parallel) share a point? Solve
    a + s (b - a) = c + t (d - c) and ask for 0 <= s, t <= 1."""
    s, t = np.linalg.solve(np.column_stack([b - a, c - d]), c - a)
    return bool(0 <= s <= 1 and 0 <= t <= 1)


SEGMENTS = [
    # (a, b, c, d, touching, proper)
    ((0, 0), (2, 2), (0, 2), (2, 0), True, True),  # an X
    ((0, 0), (1, 0), (0, 1), (1, 1), False, False),  # parallel, apart
    ((0, 0), (2, 0), (1, 0), (1, 1), True, False),  # T: an end on the other
    ((0, 0), (1, 0), (1, 0), (2, 1), True, False),  # shared end
    ((0, 0), (2, 0), (1, 0), (3, 0), True, False),  # collinear overlap
    ((0, 0), (1, 0), (2, 0), (3, 0), False, False),  # collinear, apart
    ((0, 0), (1, 1), (2, 0), (1.5, 0.6), False, False),  # would cross if extended
]


@pytest.mark.parametrize(("a", "b", "c", "d", "touching", "proper"), SEGMENTS)
def test_segment_edge_rules(a, b, c, d, touching, proper):
    a, b, c, d = (np.array(p, float) for p in (a, b, c, d))
    assert bool(sphere.segments_cross(*a, *b, *c, *d, touching=True)) == touching
    assert bool(sphere.segments_cross(*a, *b, *c, *d, touching=False)) == proper


def test_random_segments_agree_with_the_solved_intersection():
    rng = np.random.default_rng(11)
    for _ in range(300):
        a, b, c, d = rng.uniform(0, 1, (4, 2))
        truth = _cross_solved(a, b, c, d)
        assert bool(sphere.segments_cross(*a, *b, *c, *d, touching=True)) == truth
        assert bool(sphere.segments_cross(*a, *b, *c, *d, touching=False)) == truth
