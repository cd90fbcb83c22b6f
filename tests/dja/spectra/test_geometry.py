"""Shutter geometry against independent truths: APT's own V2/V3 of RUBIES sources
(the MPT export), the MSA planning tool's source positions in the real ERO 2736
metafile placed with the real exposure's pointing, and the pipeline's SRCRA/SRCDEC."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from webbarchive.catalog import sky
from webbarchive.dja.spectra.geometry import (
    Pointing,
    shutter_corners,
    shutter_v2v3,
    source_in_shutter,
)
from webbarchive.dja.spectra.slits import read_metafile


def test_shutter_v2v3_matches_apt_for_rubies_sources(real_dir):
    path = real_dir / "msa" / "4233-obs2-exp1-c1_uds_obs2az_prism_bkge1n1-PRISM-CLEAR.csv"
    apt = Table.read(path, format="ascii.csv")
    # APT calls the dispersion index "Column" and the spatial one "Row" (MSA file: row, column)
    v2, v3 = np.transpose([
        shutter_v2v3(q, d + x - 0.5, s + y - 0.5)
        for q, d, s, x, y in zip(apt["Quadrant"], apt["Column (Disp)"], apt["Row (Spat)"],
                                 apt["Offset (x)"], apt["Offset (y)"], strict=True)
    ])  # fmt: skip
    assert np.abs(v2 - apt["V2 (arcsec)"]).max() < 0.005
    assert np.abs(v3 - apt["V3 (arcsec)"]).max() < 0.005


@pytest.fixture(scope="module")
def ero_2736(real_dir):
    s2d = real_dir / "spectra" / "jw02736-o007_s06355_nirspec_f290lp-g395m_s2d.fits"
    header = fits.getheader(s2d, "SCI")
    primary = fits.getheader(s2d, 0)
    pointing = Pointing(*(header[k] for k in ("RA_REF", "DEC_REF", "ROLL_REF", "V2_REF", "V3_REF")))
    shutters, sources = read_metafile(str(real_dir / "msa" / primary["MSAMETFL"]))
    chosen = shutters[(shutters["msa_metadata_id"] == primary["MSAMETID"])
                      & (shutters["dither_point_index"] == primary["PATT_NUM"])]  # fmt: skip
    return pointing, chosen, sources, header


def test_planned_source_positions_land_where_the_msa_file_says(ero_2736):
    pointing, shutters, sources, _ = ero_2736
    placed = shutters[
        np.isfinite(shutters["estimated_source_in_shutter_x"]) & (shutters["source_id"] > 0)
    ]
    assert len(placed) > 40
    offsets = []
    for s in placed:
        ra, dec = source_in_shutter(pointing, s["shutter_quadrant"], s["shutter_row"],
                                    s["shutter_column"], s["estimated_source_in_shutter_x"],
                                    s["estimated_source_in_shutter_y"])  # fmt: skip
        src_ra, src_dec, _ = sources[int(s["source_id"])]
        offsets.append(sky.angular_distance_deg(ra, dec, src_ra, src_dec) * 3600)
    # a shutter is 0.20" x 0.46": every source is placed within a fraction of one
    assert max(offsets) < 0.15
    assert np.median(offsets) < 0.1


def test_pipeline_source_lies_in_its_shutter_and_sizes_are_arcsec(ero_2736):
    pointing, shutters, _, header = ero_2736
    mine = shutters[(shutters["source_id"] == header["SOURCEID"])
                    & np.isfinite(shutters["estimated_source_in_shutter_x"])]  # fmt: skip
    assert len(mine) == 1
    s = mine[0]
    ra, dec = shutter_corners(
        pointing, s["shutter_quadrant"], s["shutter_row"], s["shutter_column"]
    )
    polygon = list(zip(ra, dec, strict=True))
    assert sky.point_in_polygon(polygon, header["SRCRA"], header["SRCDEC"])
    sides = [sky.angular_distance_deg(*polygon[i], *polygon[(i + 1) % 4]) * 3600 for i in range(4)]
    # shutter pitch 0.27" (dispersion) x 0.53" (spatial), less half a 0.07" bar (DJA)
    assert sorted(sides)[:2] == pytest.approx([0.235, 0.235], abs=0.01)
    assert sorted(sides)[2:] == pytest.approx([0.495, 0.495], abs=0.02)
