"""Keyword extraction against the seed's keywords/search example and astropy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from astropy.io import fits
from astropy.time import Time

from webbarchive.ingest.classify import classify, mode
from webbarchive.ingest.headers import decode, keyword_name, keyword_rows, parse_datetime

SEED_KEYWORDS = "keywords_search_jw01039-o004_t001_miri_ch3-long_x1d.json"
SEED_PRODUCTS = "products_jw01039-o004_t001_miri_ch3-long_x1d_level3.json"
X1D = "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"


def _rows(path: Path) -> dict[str, dict]:
    with fits.open(path) as hdul:
        sci = hdul[1]
        return {r["name"]: r for r in keyword_rows(hdul[0].header, sci.header, sci.name)}


def test_names_follow_mast():
    assert keyword_name("DATE-OBS") == "date_obs"
    assert keyword_name("MJD-BEG") == "mjd_beg"
    assert keyword_name("TARG_RA") == "targ_ra"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2022-05-07T12:04:20.098", "2022-05-07T12:04:20.098000"),
        ("2022-09-18 16:11:01.0890000", "2022-09-18T16:11:01.089000"),  # real VSTSTART
        ("2015-07-02T12:00:00", "2015-07-02T12:00:00"),  # seed mu_epoch: no fraction
        ("2022-06-30", "2022-06-30T00:00:00"),
    ],
)
def test_datetimes_render_as_mast(text, expected):
    assert parse_datetime(text).isoformat() == expected


@pytest.mark.parametrize("text", ["NIRSPEC", "12:04:20", "2022-13-45", "20220630"])
def test_non_dates_are_not_dates(text):
    assert parse_datetime(text) is None


def test_seed_twins_and_conventions(real_dir, mast_doc_examples):
    """Every ``_mjd`` twin in MAST's example whose base keyword we also read
    exists here too, and value types follow MAST's conventions."""
    seed = json.loads((mast_doc_examples / SEED_KEYWORDS).read_text())
    rows = _rows(real_dir / X1D)
    for name in seed:
        base = name.removesuffix("_mjd")
        if name.endswith("_mjd") and base in rows and isinstance(seed[base], str):
            assert name in rows, name
    common = [
        n
        for n in seed
        if n in rows and seed[n] is not None and decode(rows[n]["value"]) is not None
    ]
    assert len(common) > 100
    for name in common:
        ours, theirs = decode(rows[name]["value"]), seed[name]
        if theirs in ("t", "f"):
            assert ours in ("t", "f"), name
        elif isinstance(theirs, float):
            assert isinstance(ours, int | float), name


def test_values_match_astropy_and_time(real_dir):
    path = real_dir / X1D
    rows = _rows(path)
    header = fits.getheader(path, 0)
    assert decode(rows["targ_ra"]["value"]) == header["TARG_RA"]
    assert rows["targ_ra"]["num"] == header["TARG_RA"]
    assert decode(rows["bkgdtarg"]["value"]) == ("t" if header["BKGDTARG"] else "f")
    # '02736' in the header; MAST's keywords/search example answers 1039 for '01039'
    assert decode(rows["program"]["value"]) == int(header["PROGRAM"]) == rows["program"]["num"]
    assert decode(rows["visitgrp"]["value"]) == header["VISITGRP"].strip()
    # DATE-OBS + TIME-OBS combine as MAST shows date_obs; the twin is astropy's MJD.
    combined = f"{header['DATE-OBS']}T{header['TIME-OBS']}"
    assert rows["date_obs_mjd"]["num"] == pytest.approx(Time(combined, scale="utc").mjd, abs=1e-9)
    assert rows["date_end_mjd"]["num"] == pytest.approx(
        Time(header["DATE-END"], scale="utc").mjd, abs=1e-9
    )
    # structural keywords are left out, the extension's own keywords come in
    assert not {"naxis", "naxis1", "bitpix", "tform1", "ttype1", "extname"} & rows.keys()
    ext = fits.getheader(path, 1)
    assert decode(rows["srctype"]["value"]) == ext["SRCTYPE"]
    assert rows["srctype"]["hdu"] == "EXTRACT1D"


def test_primary_wins_on_duplicates():
    primary, sci = fits.Header(), fits.Header()
    primary["TARGNAME"] = "from primary"
    sci["TARGNAME"] = "from sci"
    sci["BUNIT"] = "MJy/sr"
    rows = {r["name"]: r for r in keyword_rows(primary, sci, "SCI")}
    assert decode(rows["targname"]["value"]) == "from primary"
    assert rows["bunit"]["hdu"] == "SCI"


def test_classification_matches_seed_products(mast_doc_examples):
    seed = json.loads((mast_doc_examples / SEED_PRODUCTS).read_text())
    for product in seed["jw01039-o004_t001_miri_ch3-long"]:
        info = classify(product["productFilename"])
        assert info.obs_id == product["obs_id"]
        assert info.productSubGroupDescription == product["productSubGroupDescription"]
        assert info.description == product["description"]
        assert info.productType == product["productType"]
        assert info.productGroupDescription == product["productGroupDescription"]
        assert info.calib_level == product["calib_level"]
        assert info.fileSetName == "jw01039-o004_t001_miri"
        assert mode(product["exp_type"], "MIRI") == ("MIRI/IFU", product["dataproduct_type"])


@pytest.mark.parametrize(
    "name, obs_id, level, suffix",
    [
        ("jw01345062001_03101_00001_nrs1_cal.fits", "jw01345062001_03101_00001_nrs1", "2b", "cal"),
        ("jw01345062001_03101_00001_nrs1_rate.fits", "jw01345062001_03101_00001_nrs1", "2a", "rate"),
        ("jw01075001001_03105_00009_nrca2_uncal__HEADERONLY.fits", "jw01075001001_03105_00009_nrca2", "1b", "uncal"),
        ("jw01345062001_03101_00002_nrs2_phot.138.1345_933.fits", "jw01345062001_03101_00002_nrs2", "2b", "phot"),
        ("jw02736-o007_s06355_nirspec_f290lp-g395m_extract1dstep.fits", "jw02736-o007_s06355_nirspec_f290lp-g395m", "3", "extract1dstep"),
        ("jw02736007001_01_msa.fits", "jw02736007001_01", "1b", "msa"),
        ("jw01019001001_gs-acq1_2022117003102_uncal.fits", "jw01019001001_gs-acq1_2022117003102", "1b", "uncal"),
        ("jw01234-o001_t001_nircam_clear-f200w_i2d.fits", "jw01234-o001_t001_nircam_clear-f200w", "3", "i2d"),
    ],
)  # fmt: skip
def test_obs_id_and_level_from_names(name, obs_id, level, suffix):
    info = classify(name)
    assert (info.obs_id, info.productLevel, info.suffix) == (obs_id, level, suffix)
