"""The archive's real images with a WCS, the MIRI i2d files of program 1288, on both
backends: where the catalog puts them on the sky.

Truths: astropy's WCS of each file's SCI extension (its footprint, and which sky
positions fall on its pixels), the primary header.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import select

from tests.ingest.test_ingest_compression import MIRI_1288
from webbarchive.catalog import sky
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import observations

PIXEL_DEG = 0.11 / 3600  # MIRI imager pixel


def _wcs(path):
    with warnings.catch_warnings(), fits.open(path) as hdul:
        warnings.simplefilter("ignore")
        header = hdul["SCI"].header.copy()
        return WCS(header), hdul[0].header.copy(), (header["NAXIS1"], header["NAXIS2"])


@pytest.mark.parametrize("name", MIRI_1288)
def test_real_images_are_where_their_wcs_says(real_catalog_url, real_dir, name):
    wcs, primary, shape = _wcs(real_dir / name)
    obs_id = name.split("/")[-1].rsplit("_i2d", 1)[0]
    engine = open_catalog(real_catalog_url, create=False)
    with engine.connect() as conn:
        obs = conn.execute(select(observations).where(observations.c.obs_id == obs_id)).mappings()
        obs = obs.one()
        assert obs["instrument_name"] == "MIRI/IMAGE"
        assert obs["dataproduct_type"] == "image"
        assert obs["filters"] == primary["FILTER"]
        assert obs["proposal_id"] == str(int(primary["PROGRAM"]))
        assert obs["t_min"] == pytest.approx(primary["EXPSTART"])
        # the footprint: the WCS's corners, within a pixel
        corners = wcs.calc_footprint(axes=shape)
        stored = np.array(sky.parse_stcs(obs["s_region"]))
        for ra, dec in corners:
            nearest = sky.angular_distance_deg(ra, dec, stored[:, 0], stored[:, 1]).min()
            assert nearest < 2 * PIXEL_DEG
        # positions on the image's pixels are found by a cone search; one 10" off is not
        centre = wcs.pixel_to_world((shape[0] - 1) / 2, (shape[1] - 1) / 2)
        found = sky.observations_in_cone(conn, centre.ra.deg, centre.dec.deg, 1 / 3600)
        assert obs["obsid"] in found
        corner = SkyCoord(*corners[0], unit="deg")
        away = corner.directional_offset_by(
            corner.position_angle(centre) + 180 * u.deg, 10 * u.arcsec
        )
        assert not wcs.footprint_contains(away)
        assert obs["obsid"] not in sky.observations_in_cone(
            conn, away.ra.deg, away.dec.deg, 1 / 3600
        )
    engine.dispose()
