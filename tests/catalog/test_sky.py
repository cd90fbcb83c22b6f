"""Footprints and cone queries against astropy (SkyCoord separations, WCS) and brute force."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_area
from cdshealpix.nested import lonlat_to_healpix
from sqlalchemy import insert, select

from webbarchive.catalog import sky
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import SKY_INDEX_DEPTH, observations, sky_index

BAD_FS = "spectra/jw01492-o005_s00004_nirspec_f100lp-g140m-s1600a1-sub2048_s2d.fits"
MIRI = "imaging/jw01714001001_02103_00003_mirimage_i2d__DERIVED_64x64.fits"


def box(ra: float, dec: float, half_arcsec: float) -> sky.Polygon:
    """A square footprint built with astropy offsets (independent of sky.target_box)."""
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    half = half_arcsec * u.arcsec * math.sqrt(2)
    corners = [centre.directional_offset_by(pa * u.deg, half) for pa in (45, 135, 225, 315)]
    return [(c.ra.deg, c.dec.deg) for c in corners]


def test_parse_stcs():
    assert sky.parse_stcs("POLYGON ICRS  1 2 3 4 5 6") == [(1, 2), (3, 4), (5, 6)]
    assert sky.parse_stcs("POLYGON -89.97 66.59 -89.96 66.59 -89.96 66.60")[0][0] == pytest.approx(
        270.03
    )  # MAST's seed writes negative RA
    for bad in ("CIRCLE ICRS 1 2 3", "POLYGON 1 2 3", "POLYGON ICRS 1 2 x 4 5 6", ""):
        with pytest.raises(sky.FootprintError):
            sky.parse_stcs(bad)


def test_real_absurd_s_region_is_rejected(real_dir):
    h0 = fits.getheader(real_dir / BAD_FS)
    region = fits.getheader(real_dir / BAD_FS, "SCI")["S_REGION"]
    with pytest.raises(sky.FootprintError):
        sky.validate(sky.parse_stcs(region), (h0["TARG_RA"], h0["TARG_DEC"]))


def test_real_s_region_area_matches_wcs(real_dir):
    """The area of a real S_REGION equals pixels x pixel area from the WCS
    (the DERIVED file kept its primary S_REGION of the full MIRI imager)."""
    path = real_dir / "spectra/jw01345062001_03101_00001_nrs2_phot.138.1345_933.fits"
    polygon = sky.validate(sky.parse_stcs(fits.getheader(path, "SCI")["S_REGION"]))
    corners = SkyCoord([p[0] for p in polygon] * u.deg, [p[1] for p in polygon] * u.deg)
    # a quadrilateral of two sides: |side1| * |side2| (a near-rectangle)
    expected = corners[0].separation(corners[1]).deg * corners[1].separation(corners[2]).deg
    assert sky.area_deg2(polygon) == pytest.approx(expected, rel=0.02)


def test_area_of_a_wcs_footprint():
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [359.99, -30.0]  # across RA 0/360
    wcs.wcs.crpix = [500.5, 500.5]
    wcs.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    polygon = [tuple(c) for c in wcs.calc_footprint(axes=(1000, 1000))]
    # calc_footprint joins the centres of the corner pixels: 999 x 999 pixels apart
    assert sky.area_deg2(polygon) == pytest.approx(proj_plane_pixel_area(wcs) * 999**2, rel=1e-4)
    assert sky.validate(polygon, (359.99, -30.0))


@pytest.mark.parametrize(
    "polygon, reason",
    [
        ([(0, 0), (0, 0), (0, 0)], "distinct"),
        ([(0, 0), (1.5, 0), (1.5, 1.5), (0, 1.5)], "area"),
        ([(0, 91), (1, 0), (2, 0)], "declination"),
        ([(float("nan"), 0), (1, 0), (1, 1)], "non-finite"),
    ],
)
def test_validate_says_why(polygon, reason):
    with pytest.raises(sky.FootprintError, match=reason):
        sky.validate(polygon)


def test_validate_checks_the_pointing():
    polygon = box(10.0, 10.0, 10)
    sky.validate(polygon, (10.0, 10.5))
    with pytest.raises(sky.FootprintError, match="from the pointing"):
        sky.validate(polygon, (12.0, 10.0))


@pytest.mark.parametrize("ra, dec", [(0.0, 0.0), (359.9999, 12.0), (180.0, -89.99), (42.0, 89.999)])
def test_cone_ranges_cover_the_cone(ra, dec):
    """Every point inside the cone falls in one of its cells (astropy offsets)."""
    radius = 0.2
    ranges = sky.cone_ranges(ra, dec, radius)
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    rng = np.random.default_rng(3)
    pas = rng.uniform(0, 360, 400) * u.deg
    seps = radius * np.sqrt(rng.uniform(0, 1, 400)) * u.deg
    points = centre.directional_offset_by(pas, seps)
    inside = lonlat_to_healpix(points.ra, points.dec, SKY_INDEX_DEPTH)
    assert all(any(a <= int(c) < b for a, b in ranges) for c in inside)


@pytest.mark.parametrize("ra, dec", [(0.0, 0.0), (359.999, -5.0), (120.0, 89.995), (300.0, -89.99)])
def test_polygon_cone_intersection_against_brute_force(ra, dec):
    """Compare the exact test with SkyCoord separations to densely sampled
    points of the footprint (edges and interior), away from the boundary."""
    polygon = box(ra, dec, 20.0)
    corners = SkyCoord([p[0] for p in polygon] * u.deg, [p[1] for p in polygon] * u.deg)
    # dense samples on the footprint: a normalised bilinear grid of the corner
    # vectors (its rows at t = 0 and 1 are points of the great-circle edges)
    xyz = corners.cartesian.xyz.value.T
    t = np.linspace(0, 1, 81)[:, None, None]
    s = np.linspace(0, 1, 81)[None, :, None]
    grid = (1 - t) * ((1 - s) * xyz[0] + s * xyz[1]) + t * ((1 - s) * xyz[3] + s * xyz[2])
    grid = grid.reshape(-1, 3)
    samples = SkyCoord(x=grid[:, 0], y=grid[:, 1], z=grid[:, 2], representation_type="cartesian")
    samples = SkyCoord(samples.spherical.lon, samples.spherical.lat)
    rng = np.random.default_rng(11)
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    checked = 0
    for _ in range(150):
        probe = centre.directional_offset_by(
            rng.uniform(0, 360) * u.deg, rng.uniform(0, 80) * u.arcsec
        )
        radius = rng.uniform(1, 30) / 3600
        nearest = probe.separation(samples).deg.min()
        if abs(nearest - radius) < 1.0 / 3600:
            continue  # within the sampling step of the boundary: no truth
        expected = nearest < radius
        assert sky.polygon_intersects_cone(polygon, probe.ra.deg, probe.dec.deg, radius) == expected
        checked += 1
    assert checked > 100


def test_convex_hull_contains_all_vertices():
    polygons = [box(0.001, 0.0, 10), box(359.998, 0.001, 10)]
    hull = sky.convex_hull(polygons)
    for polygon in polygons:
        for ra, dec in polygon:
            assert sky.polygon_intersects_cone(hull, ra, dec, 1e-9)
    assert sky.area_deg2(hull) >= sky.area_deg2(polygons[0])


def test_observations_in_cone_matches_brute_force(catalog_url):
    """Random 4-arcsec boxes across RA 0/360 and near both poles; truth from
    SkyCoord separations between the cone centre and the box centres."""
    engine = open_catalog(catalog_url)
    rng = np.random.default_rng(5)
    parts = []
    for ra0, dec0 in ((0.0, 0.0), (0.0, 89.99), (180.0, -89.99), (359.99, 45.0)):
        parts.append(
            SkyCoord(ra0 * u.deg, dec0 * u.deg).directional_offset_by(
                rng.uniform(0, 360, 60) * u.deg, rng.uniform(0, 0.05, 60) * u.deg
            )
        )
    catalog = SkyCoord(
        np.concatenate([p.ra.deg for p in parts]) * u.deg,
        np.concatenate([p.dec.deg for p in parts]) * u.deg,
    )
    half = 2.0 * math.sqrt(2) * u.arcsec
    corners = [catalog.directional_offset_by(pa * u.deg, half) for pa in (45, 135, 225, 315)]
    polygons = [[(c.ra.deg[i], c.dec.deg[i]) for c in corners] for i in range(len(catalog))]
    with engine.begin() as conn:
        conn.execute(
            insert(observations),
            [{"obs_id": f"o{i}", "s_region": sky.to_stcs(p)} for i, p in enumerate(polygons)],
        )
        ids = dict(conn.execute(select(observations.c.obs_id, observations.c.obsid)).all())
        conn.execute(
            insert(sky_index),
            [row for i, p in enumerate(polygons) for row in sky.index_rows(ids[f"o{i}"], p)],
        )
    box_radius = 2.0 * math.sqrt(2) / 3600
    with engine.connect() as conn:
        ids = dict(
            conn.execute(
                observations.select().with_only_columns(observations.c.obs_id, observations.c.obsid)
            ).all()
        )
        for ra, dec, radius in (
            (0.0, 0.0, 0.03),
            (359.995, 0.01, 0.02),
            (0.0, 90.0, 0.02),
            (90.0, -89.99, 0.03),
            (0.01, 45.0, 0.04),
        ):
            found = set(sky.observations_in_cone(conn, ra, dec, radius))
            seps = SkyCoord(ra * u.deg, dec * u.deg).separation(catalog).deg
            must = {ids[f"o{i}"] for i in np.flatnonzero(seps < radius)}
            never = {ids[f"o{i}"] for i in np.flatnonzero(seps > radius + box_radius)}
            assert must and must <= found
            assert not (never & found)
        with pytest.raises(ValueError):
            sky.observations_in_cone(conn, 0.0, 95.0, 1.0)
