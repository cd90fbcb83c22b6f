"""msaexp spectra in both layouts, the merged redshift of seed 003's example, and
trace offsets computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from webbarchive.dja.spectra.overlap import MAX_OFFSET_PIX, yoffsets
from webbarchive.dja.spectra.redshifts import group_sources, merged_redshift
from webbarchive.dja.spectra.spec_file import read_spec_file, root_of


def test_older_layout_with_per_exposure_keywords(real_dir):
    path = real_dir / "dja" / "calib_prism-clear_iras-05248-7007_s200a1.v1.spec.fits.gz"
    spec = read_spec_file(str(path))
    table = Table.read(path, hdu="SPEC1D")
    ok = np.isfinite(table["flux"]) & (table["err"] > 0)
    assert spec.row["layout"] == "v1"
    assert spec.row["grating"] == "PRISM_CLEAR"
    assert spec.row["program"] == 1125  # from FILE1 = jw01125...
    assert spec.row["root"] == "calib"
    assert spec.row["sn50"] == pytest.approx(np.median(table["flux"][ok] / table["err"][ok]))
    assert spec.row["wmin"] == pytest.approx(float(table["wave"][ok].min()))
    assert len(spec.traces) == 9
    assert spec.traces[0]["exposure"] == "jw01125001001_0310i_00001_nrs1"
    assert spec.traces[0]["detector"] == "NRS1"


def test_newer_layout(real_dir):
    spec = read_spec_file(str(real_dir / "dja" / "static-test-driz-center-bkg_933.spec.fits"))
    assert spec.row["layout"] == "v3"
    assert (spec.row["srcid"], spec.row["program"]) == (933, 1345)  # SRCNAME 1345_933
    assert spec.row["ra"] == pytest.approx(214.8337227)
    assert spec.row["exptime"] == pytest.approx(3063.666)
    assert spec.row["version"].startswith("0.8.6")


def test_root_from_dja_names():
    assert root_of("rubies-uds3-v4_prism-clear_4233_50352.spec.fits") == "rubies-uds3-v4"
    assert root_of("rubies-uds3-v4_g395m-f290lp_4233_50352.spec.fits") == "rubies-uds3-v4"


def test_merged_redshift_reproduces_seed_example():
    # the four spectra of 4233_50352 in seed 003 (z, grade, sn50 as listed there)
    spectra = [
        dict(file="rubies-uds3-v4_g395m-f290lp_4233_50352.spec.fits", root="rubies-uds3-v4",
             grating="G395M_F290LP", z=2.0809047, grade=3, sn50=4.7487884),
        dict(file="rubies-uds3-v4_prism-clear_4233_50352.spec.fits", root="rubies-uds3-v4",
             grating="PRISM_CLEAR", z=2.0819318, grade=3, sn50=21.295174),
        dict(file="rubies-uds2-v4_g395m-f290lp_4233_50352.spec.fits", root="rubies-uds2-v4",
             grating="G395M_F290LP", z=2.0809047, grade=3, sn50=7.295592),
        dict(file="rubies-uds2-v4_prism-clear_4233_50352.spec.fits", root="rubies-uds2-v4",
             grating="PRISM_CLEAR", z=2.0776203, grade=3, sn50=25.506578),
    ]  # fmt: skip
    for s in spectra:
        s.update(ra=34.277488, dec=-5.2281688, objid=150845)
    row = merged_redshift("rubies-uds3-v4_prism-clear_4233_50352.spec.fits", spectra)
    assert (row["zmin_prism"], row["zmax_prism"]) == (2.0776203, 2.0819318)
    assert row["z_prism"] == pytest.approx(2.07977605)
    assert row["N_prism"] == 2 and row["zref_prism"] == 2.0776203
    assert row["file_prism"] == "rubies-uds2-v4_prism-clear_4233_50352.spec.fits"
    assert row["z_grating"] == row["zref_grating"] == row["z"] == 2.0809047
    assert row["file_grating"] == "rubies-uds2-v4_g395m-f290lp_4233_50352.spec.fits"
    assert (row["N_grating"], row["v_prism"], row["v_grating"], row["ztype"]) == (
        2,
        "v4",
        "v4",
        "G",
    )
    assert row["objid"] == 150845


def test_grades_below_two_do_not_count():
    spectra = [
        dict(file="a_prism-clear_1_1.spec.fits", grating="PRISM_CLEAR", z=5.0, grade=1, sn50=9)
    ]
    row = merged_redshift(spectra[0]["file"], spectra)
    assert row["N_prism"] == 0 and row["z"] is None and row["ztype"] is None


def test_sources_group_within_a_third_of_an_arcsec():
    ids = [5, 7, 9]
    groups = group_sources(ids, [10.0, 10.0 + 0.2 / 3600, 10.0 + 5 / 3600], [0.0, 0.0, 0.0])
    assert groups == {5: 5, 7: 5, 9: 9}


def _trace(file, srcid, xstart, xsize, ystart, c0=0.0, c1=0.0, c2=0.0):
    return dict(file=file, program=4233, srcid=srcid, xstart=xstart, xsize=xsize,
                ystart=ystart, trace_c0=c0, trace_c1=c1, trace_c2=c2)  # fmt: skip


def test_yoffsets_by_hand():
    primary = _trace("p", 1, xstart=100, xsize=50, ystart=200, c0=15, c1=0.01)
    others = [
        primary,
        # y = 200 on columns 120..149; primary y = 215 + 0.01 (x - 100): the difference
        # -15 - 0.01 (x - 100) has median -15 - 0.01 * 34.5 = -15.345
        _trace("a", 2, xstart=120, xsize=60, ystart=190, c0=10),
        # shared columns 100..109, quadratic: diff = 5 + 0.001 (x-90)^2 - 0.01 (x-100);
        # at x = 104, 105 (median of an even count is their mean): 5.196-0.04, 5.225-0.05
        _trace("b", 3, xstart=90, xsize=20, ystart=210, c0=10, c2=0.001),
        _trace("far", 4, xstart=100, xsize=50, ystart=200 + 15 + MAX_OFFSET_PIX + 1),
        _trace("apart", 5, xstart=400, xsize=50, ystart=215),
    ]
    result = yoffsets(primary, others)
    assert set(result) == {"4233_2", "4233_3"}
    assert result["4233_2"] == pytest.approx(-15.345)
    assert result["4233_3"] == pytest.approx(((5.196 - 0.04) + (5.225 - 0.05)) / 2)
    assert list(result) == ["4233_3", "4233_2"]  # largest first, as DJA lists them
