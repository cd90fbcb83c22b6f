"""Ingesting the real JWST files of ../shared, on both backends.

Truths: astropy's reading of the same files, hashlib, the FITS standard
(a complete FITS file is a whole number of 2880-byte blocks), astropy Time.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest
from astropy.io import fits
from astropy.time import Time
from sqlalchemy import func, select

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import keywords, observations, products, programs, sky_index
from webbarchive.ingest.headers import decode
from webbarchive.ingest.runner import ingest_paths

COMMUNITY = ("dja/",)  # msaexp spec.fits and grizli beams: not pipeline products


def _candidates(real_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in real_dir.rglob("*")
        if p.is_file() and (p.name.endswith((".fits", ".fits.gz", "_asn.json")))
    )


def _fits_stream(path: Path) -> bytes:
    """The FITS bytes of a file, compressed or not (by its first bytes, as astropy)."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _table_rows(engine, table, order):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(*order)).mappings()]


def test_every_real_file_is_ingested_or_reported(catalog_url, real_dir):
    report = ingest_paths([str(real_dir)], db_url=catalog_url, workers=2, progress=False)
    skipped = dict(report.skipped)
    ingested = set(report.ingested)
    handed = set(report.handed)  # community files the DJA tools read instead
    for path in _candidates(real_dir):
        key = str(path.resolve())
        relative = str(path.relative_to(real_dir))
        if relative.startswith(COMMUNITY):
            assert key in handed or "not a JWST pipeline product" in skipped[key], relative
        elif len(_fits_stream(path)) % 2880:
            # FITS files are whole 2880-byte blocks: these were cut short upstream
            assert skipped[key].startswith("truncated: HDU"), relative
            assert f" {len(_fits_stream(path))}" in skipped[key]
        else:
            assert key in ingested, (relative, skipped.get(key))
    others = {
        str(p.resolve())
        for p in real_dir.rglob("*")
        if p.is_file() and p not in _candidates(real_dir)
    }
    assert others <= set(report.ignored) | handed  # CSVs, JSON, notes: ignored or handed
    assert not set(report.ignored) & handed
    assert all(f"skipped {path}: {reason}" in report.summary() for path, reason in report.skipped)

    engine = open_catalog(catalog_url)
    with engine.connect() as conn:
        rows = conn.execute(select(products)).mappings().all()
        assert len(rows) == len(ingested)
        for row in rows:
            data = Path(row["path"]).read_bytes()
            assert row["size"] == len(data) == os.path.getsize(row["path"])
            assert row["checksum"] == hashlib.md5(data).hexdigest()
            assert row["ingestStartDate_mjd"] <= row["ingestCompletionDate_mjd"]
            _check_keywords_match_astropy(conn, row)

    # A second run changes nothing and duplicates nothing.
    before = {
        t.name: _table_rows(engine, t, list(t.primary_key.columns))
        for t in (programs, observations, products, keywords, sky_index)
    }
    again = ingest_paths([str(real_dir)], db_url=catalog_url, workers=2, progress=False)
    assert sorted(again.unchanged) == sorted(ingested)
    assert not again.ingested and not again.replaced
    after = {
        t.name: _table_rows(engine, t, list(t.primary_key.columns))
        for t in (programs, observations, products, keywords, sky_index)
    }
    assert after == before


def _check_keywords_match_astropy(conn, row) -> None:
    stored = {
        name: (hdu, decode(value))
        for name, hdu, value in conn.execute(
            select(keywords.c.name, keywords.c.hdu, keywords.c.value).where(
                keywords.c.product_id == row["product_id"]
            )
        )
    }
    with fits.open(row["path"]) as hdul:
        header = hdul[0].header
        for card in header.cards:
            key = card.keyword
            if not key or key in ("COMMENT", "HISTORY", "SIMPLE", "BITPIX", "NAXIS", "EXTEND"):
                continue
            name = key.lower().replace("-", "_")
            hdu, value = stored[name]
            assert hdu == "PRIMARY"
            if isinstance(card.value, bool):
                assert value == ("t" if card.value else "f"), name
            elif isinstance(card.value, int | float):
                assert value == pytest.approx(card.value), name
            elif name == "date_obs" and "TIME-OBS" in header:
                expected = Time(f"{card.value}T{header['TIME-OBS']}", scale="utc")
                assert Time(value, scale="utc") == expected
            elif isinstance(card.value, str) and name + "_mjd" in stored:
                assert Time(value, scale="utc") == Time(card.value.strip().replace(" ", "T"))
                assert stored[name + "_mjd"][1] == pytest.approx(
                    Time(card.value.strip().replace(" ", "T"), scale="utc").mjd, abs=1e-9
                )
            elif card.keyword in ("PROGRAM", "OBSERVTN", "VISIT", "EXPOSURE"):
                assert value == int(card.value), name  # MAST's integers (seed 000)
            elif isinstance(card.value, str):
                assert value == card.value.rstrip(), name


@pytest.fixture
def real_catalog(real_catalog_url):
    return open_catalog(real_catalog_url, create=False)


def _observation(engine, obs_id):
    with engine.connect() as conn:
        return (
            conn.execute(select(observations).where(observations.c.obs_id == obs_id))
            .mappings()
            .one()
        )


def test_observation_parameters_from_headers(real_catalog, real_dir):
    x1d = real_dir / "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
    s2d = real_dir / "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_s2d.fits"
    h = fits.getheader(x1d)
    obs = _observation(real_catalog, "jw02736-o007_s06355_nirspec_f290lp-g395m")
    assert obs["instrument_name"] == "NIRSPEC/MSA"
    assert obs["dataproduct_type"] == "spectrum"
    assert obs["calib_level"] == 3
    assert obs["filters"] == f"{h['FILTER']};{h['GRATING']}" == "F290LP;G395M"
    assert obs["proposal_id"] == "2736"
    assert obs["target_name"] == h["TARGPROP"]
    assert obs["proposal_pi"] == h["PI_NAME"]
    assert obs["obs_title"] == h["TITLE"]
    assert obs["t_min"] == pytest.approx(h["EXPSTART"])
    assert obs["t_max"] == pytest.approx(h["EXPEND"])
    assert obs["t_exptime"] == pytest.approx(h["EFFEXPTM"])
    # an MSA slitlet's position is its source's (all slitlets share TARG_RA)
    source = fits.getheader(x1d, "EXTRACT1D")
    assert obs["s_ra"] == pytest.approx(source["SRCRA"])
    assert obs["s_dec"] == pytest.approx(source["SRCDEC"])
    assert (obs["provenance_name"], obs["project"], obs["obs_collection"]) == (
        "CALJWST",
        "JWST",
        "JWST",
    )
    assert obs["wavelength_region"] == "INFRARED"
    # G395M/F290LP covers 2.87-5.27 um (JDox), in nm as MAST's CAOM
    assert (obs["em_min"], obs["em_max"]) == (2870.0, 5270.0)
    # category COM: public at the end of the exposure
    assert h["CATEGORY"] == "COM"
    assert obs["t_obs_release"] == pytest.approx(Time(h["DATE-END"], scale="utc").mjd, abs=1e-8)
    # the footprint is the s2d's S_REGION (the x1d has none)
    assert obs["footprint_source"] == "s_region"
    sci_region = fits.getheader(s2d, "SCI")["S_REGION"].split()[2:]
    assert obs["s_region"].split()[2:4] == [f"{float(v):.9f}" for v in sci_region[:2]]
    assert obs["dataURL"] == f"mast:JWST/product/{s2d.name}"
    with real_catalog.connect() as conn:
        program = (
            conn.execute(select(programs).where(programs.c.proposal_id == "2736")).mappings().one()
        )
        assert (program["proposal_pi"], program["obs_title"], program["proposal_type"]) == (
            h["PI_NAME"], h["TITLE"], "COM",
        )  # fmt: skip
        n = conn.execute(
            select(func.count()).select_from(products).where(products.c.obsid == obs["obsid"])
        ).scalar()
        assert n == 3  # x1d, s2d and the user's extract1dstep re-run


def test_go_release_is_one_year_after_the_exposure(real_catalog, real_dir):
    path = real_dir / "imaging/jw01714001001_02103_00003_mirimage_i2d__DERIVED_64x64.fits"
    h = fits.getheader(path)
    assert h["CATEGORY"] == "GO"
    obs = _observation(real_catalog, "jw01714001001_02103_00003_mirimage")
    assert obs["t_obs_release"] == pytest.approx(Time(h["DATE-END"]).mjd + 365.25, abs=1e-8)
    assert obs["instrument_name"] == "MIRI/IMAGE" and obs["filters"] == "F1130W"


def test_absurd_s_region_falls_back_to_target(real_catalog, real_dir):
    path = real_dir / "spectra/jw01492-o005_s00004_nirspec_f100lp-g140m-s1600a1-sub2048_s2d.fits"
    h = fits.getheader(path)
    assert fits.getheader(path, "SCI")["S_REGION"].split()[2] == "275.845029277"  # the bad one
    obs = _observation(real_catalog, "jw01492-o005_s00004_nirspec_f100lp-g140m-s1600a1-sub2048")
    assert obs["footprint_source"] == "target"
    # the x1d's SLIT_RA is as broken as the S_REGION: the target position is kept
    x1d = str(path).replace("_s2d", "_x1d")
    assert abs(fits.getheader(x1d, 1)["SLIT_RA"] - h["TARG_RA"]) > 90
    assert obs["s_ra"] == pytest.approx(h["TARG_RA"])
    assert obs["s_dec"] == pytest.approx(h["TARG_DEC"])
    assert obs["instrument_name"] == "NIRSPEC/SLIT"
    values = [float(v) for v in obs["s_region"].split()[2:]]
    for ra, dec in zip(values[::2], values[1::2], strict=True):
        assert abs(dec - h["TARG_DEC"]) < 2 / 3600
        assert abs((ra - h["TARG_RA"] + 180) % 360 - 180) < 2 / 3600 / 0.34


def test_auxiliary_files_attach_and_inherit_release(real_catalog):
    obs = _observation(real_catalog, "jw02736007001_01")
    assert obs["instrument_name"] == "NIRSPEC/MSA"
    science = _observation(real_catalog, "jw02736-o007_s06355_nirspec_f290lp-g395m")
    # the MSA file never turns public before the program's science data
    assert obs["t_obs_release"] == science["t_obs_release"]
