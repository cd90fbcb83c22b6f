"""The small mock archive (session fixture ``mock_dir``, seed 7) against independent truths:
the real pipeline files of ../shared, the instruments' documented grids and apertures, and
astropy's own reading of headers, WCS and footprints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS
from stdatamodels.jwst import datamodels

from webbarchive.mock import MANIFEST


@pytest.fixture(scope="module")
def manifest(mock_dir: Path) -> list[dict]:
    return json.loads((mock_dir / MANIFEST).read_text())


def _first(manifest, suffix, **match) -> dict:
    for entry in manifest:
        if entry["suffix"] == suffix and all(entry.get(k) == v for k, v in match.items()):
            return entry
    raise AssertionError(f"no {suffix} with {match} in the manifest")


def _polygon(s_region: str) -> np.ndarray:
    words = s_region.split()
    assert words[:2] == ["POLYGON", "ICRS"]
    return np.array([float(w) for w in words[2:]]).reshape(-1, 2)


def test_manifest_lists_every_file_written(mock_dir, manifest):
    # Pipeline products sit at the top; community products (DJA's msaexp spectra,
    # drizzled mosaics) live in sub-folders with their own conventions.
    on_disk = {p.name for p in mock_dir.iterdir() if p.is_file()} - {MANIFEST}
    assert {e["filename"] for e in manifest} == on_disk
    required = {"filename", "suffix", "program", "obs_id", "target_name", "ra", "dec",
                "instrument", "exp_type", "category", "date_beg", "date_end", "release_mjd"}  # fmt: skip
    for entry in manifest:
        assert required <= entry.keys()


def test_small_scale_has_every_product_type_and_mode(mock_dir, manifest):
    suffixes = {e["suffix"] for e in manifest}
    assert {"x1d", "c1d", "s2d", "s3d", "cal", "rate", "i2d", "msa", "asn"} <= suffixes
    exp_types = {e["exp_type"] for e in manifest}
    assert {"NRS_MSASPEC", "NRS_FIXEDSLIT", "NRS_IFU", "MIR_MRS", "MIR_LRS-FIXEDSLIT",
            "MIR_IMAGE", "NRC_IMAGE", "NIS_IMAGE"} <= exp_types  # fmt: skip
    gratings = {fits.getval(mock_dir / e["filename"], "GRATING") for e in manifest
                if e["suffix"] == "x1d" and e["instrument"] == "NIRSPEC"}  # fmt: skip
    assert "PRISM" in gratings
    assert any(g.endswith("M") for g in gratings) and any(g.endswith("H") for g in gratings)
    assert {e["category"] for e in manifest} >= {"GO", "GTO", "ERS", "DD", "COM", "CAL"}
    assert any(e["suffix"] == "i2d" and "_t001_" not in e["filename"] for e in manifest)  # level 2
    assert 100 <= len(manifest) <= 250
    assert sum(p.stat().st_size for p in mock_dir.rglob("*") if p.is_file()) < 120e6


FILENAME = {
    "level3": re.compile(r"^jw\d{5}-o\d{3}_(s\d{5}|t\d{3})_(nirspec|miri|nircam|niriss)_[a-z0-9-]+_(x1d|c1d|s2d|s3d|i2d)\.fits$"),
    "level2": re.compile(r"^jw\d{5}\d{3}\d{3}_\d{5}_\d{5}_(nrcb1|nrcblong|mirimage|nis)_(rate|cal|i2d)\.fits$"),
    "msa": re.compile(r"^jw\d{11}_01_msa\.fits$"),
    "asn": re.compile(r"^jw\d{5}-o\d{3}_\d{8}t\d{6}_(spec3|image3)_\d{5}_asn\.json$"),
}  # fmt: skip


def test_file_names_follow_jwst_conventions(manifest):
    for entry in manifest:
        name = entry["filename"]
        assert any(p.match(name) for p in FILENAME.values()), name
        header_program = name[2:7]
        assert entry["program"] == header_program


EXPECTED_MODEL = {
    "x1d": (datamodels.MultiSpecModel, datamodels.MRSMultiSpecModel),
    "c1d": (datamodels.CombinedSpecModel,),
    "s2d": (datamodels.SlitModel,),
    "s3d": (datamodels.IFUCubeModel,),
    "cal": (datamodels.ImageModel,),
    "rate": (datamodels.ImageModel,),
    "i2d": (datamodels.ImageModel,),
}


@pytest.mark.parametrize("suffix", sorted(EXPECTED_MODEL))
def test_products_open_as_their_datamodel(mock_dir, manifest, suffix):
    for entry in [e for e in manifest if e["suffix"] == suffix][:3]:
        path = mock_dir / entry["filename"]
        with datamodels.open(path) as model:
            assert type(model) in EXPECTED_MODEL[suffix]
        with fits.open(path) as hdus:
            assert hdus[0].header["DATAMODL"] == type(model).__name__


PRIMARY_KEYWORDS = (
    "PROGRAM OBSERVTN VISIT VISIT_ID EXPOSURE INSTRUME DETECTOR EXP_TYPE TARGNAME TARGPROP "
    "TARG_RA TARG_DEC DATE-OBS TIME-OBS DATE-BEG DATE-END EXPSTART EXPMID EXPEND EFFEXPTM "
    "DURATION TITLE PI_NAME CATEGORY CAL_VER CRDS_CTX DATAMODL SUBARRAY READPATT NGROUPS "
    "NINTS PATT_NUM NUMDTHPT APERNAME DATE"
).split()


def test_headers_carry_the_archive_keywords(mock_dir, manifest):
    for entry in manifest:
        if entry["suffix"] in ("asn", "msa"):
            continue
        header = fits.getheader(mock_dir / entry["filename"])
        missing = [k for k in PRIMARY_KEYWORDS if k not in header]
        assert not missing, (entry["filename"], missing)
        assert re.fullmatch(r"\d{5}", header["PROGRAM"])
        assert header["CATEGORY"] == entry["category"]
        # The manifest's times are the header's, read independently through astropy.Time.
        assert Time(header["DATE-END"], scale="utc").mjd == pytest.approx(
            entry["date_end"], abs=1e-6
        )
        assert Time(header["DATE-BEG"], scale="utc").mjd == pytest.approx(
            entry["date_beg"], abs=1e-6
        )
        assert header["EXPSTART"] <= header["EXPMID"] <= header["EXPEND"]
        if entry["suffix"] not in ("x1d", "c1d"):
            sci = fits.getheader(mock_dir / entry["filename"], "SCI")
            assert {"S_REGION", "RA_REF", "DEC_REF", "ROLL_REF"} <= set(sci)


def test_release_dates_follow_the_exclusive_access_rules(manifest):
    now = Time("2026-11-01").mjd
    products = [e for e in manifest if e["suffix"] not in ("asn", "msa")]
    for entry in products:
        if entry["category"] in ("GO", "GTO"):
            assert entry["release_mjd"] == pytest.approx(entry["date_end"] + 365.25)
        else:
            assert entry["release_mjd"] == pytest.approx(entry["date_end"])
    exclusive = [e for e in products if e["category"] in ("GO", "GTO")]
    assert any(e["release_mjd"] > now for e in exclusive)  # still exclusive in 2026-11
    assert any(e["release_mjd"] < now for e in exclusive)  # already public
    dates = [e["date_beg"] for e in products]
    assert Time("2022-07-01").mjd <= min(dates) and max(dates) <= Time("2026-10-31").mjd


# --- spectra --------------------------------------------------------------------------

# Independent of webbarchive.mock.spectra: (min um, max um, min rows, max rows) per
# (GRATING or band, FILTER), from JDox and the real products (G395M MOS x1d: 1215 rows).
GRIDS = {
    ("PRISM", "CLEAR"): (0.6, 5.3, 400, 450),
    ("G140M", "F100LP"): (0.97, 1.89, 1200, 1500),
    ("G235M", "F170LP"): (1.66, 3.17, 1200, 1500),
    ("G395M", "F290LP"): (2.87, 5.27, 1200, 1500),
    ("G395H", "F290LP"): (2.87, 5.27, 3000, 4000),
    ("P750L", None): (5.0, 14.0, 350, 450),
    ("3", "LONG"): (15.41, 17.98, 900, 1200),
    ("4", "SHORT"): (17.70, 20.95, 450, 700),
}


def _grid_key(header) -> tuple:
    if header["EXP_TYPE"] == "MIR_MRS":
        return (header["CHANNEL"], header["BAND"])
    if header["INSTRUME"] == "MIRI":
        return (header["FILTER"], None)
    return (header["GRATING"], header["FILTER"])


def test_x1d_grids_match_the_instruments(mock_dir, manifest):
    seen = set()
    for entry in [e for e in manifest if e["suffix"] == "x1d"]:
        path = mock_dir / entry["filename"]
        key = _grid_key(fits.getheader(path))
        low, high, min_rows, max_rows = GRIDS[key]
        table = fits.getdata(path, "EXTRACT1D")
        wave = table["WAVELENGTH"]
        assert min_rows <= wave.size <= max_rows, (path.name, wave.size)
        assert wave[0] == pytest.approx(low, abs=0.01) and wave[-1] == pytest.approx(high, abs=0.01)
        assert np.all(np.diff(wave) > 0)
        seen.add(key)
        # NaN edges flagged DO_NOT_USE; finite positive errors elsewhere; some other DQ bits.
        flux, error, dq = table["FLUX"], table["FLUX_ERROR"], table["DQ"]
        assert np.isnan(flux[0]) and np.isnan(flux[-1])
        assert np.all(dq[np.isnan(flux)] & 1)
        assert np.all(error[np.isfinite(flux)] > 0)
        assert fits.getheader(path, "EXTRACT1D")["TUNIT2"] == "Jy"
    assert ("PRISM", "CLEAR") in seen and ("3", "LONG") in seen
    prism = fits.getdata(mock_dir / _first(manifest, "x1d", mode="nirspec_prism_clear")["filename"])
    steps = np.diff(prism["WAVELENGTH"])
    assert steps.max() / steps.min() > 5  # the prism's dispersion varies strongly


def test_spectra_agree_across_products(mock_dir, manifest):
    """An s2d's rows summed (MJy) give the x1d flux (Jy) of the same source."""
    s2d = _first(manifest, "s2d", exp_type="NRS_MSASPEC")
    x1d = mock_dir / s2d["filename"].replace("_s2d", "_x1d")
    sci = fits.getdata(mock_dir / s2d["filename"], "SCI")
    flux = fits.getdata(x1d, "EXTRACT1D")["FLUX"]
    collapsed = np.nansum(sci, axis=0) * 1e6
    good = np.isfinite(flux)
    scale = np.nanmedian(np.abs(flux[good]))
    assert np.nanmedian(np.abs(collapsed[good] - flux[good])) < 0.5 * scale


def test_cubes_have_a_spectral_axis_astropy_understands(mock_dir, manifest):
    for entry in [e for e in manifest if e["suffix"] == "s3d"]:
        with fits.open(mock_dir / entry["filename"]) as hdus:
            header = hdus["SCI"].header
            nwave = hdus["SCI"].data.shape[0]
            if header["CTYPE3"] == "WAVE-TAB":
                wave = hdus["WCS-TABLE"].data["wavelength"][0].ravel()
            else:
                wcs = WCS(header)
                wave = wcs.spectral.pixel_to_world(np.arange(nwave)).to_value(u.um)
        assert wave.size == nwave
        assert wave[0] == pytest.approx(entry["wave_min_um"], rel=1e-3)
        assert wave[-1] == pytest.approx(entry["wave_max_um"], rel=1e-3)


# --- footprints -------------------------------------------------------------------------

# Expected (short side, long side) in arcsec of S_REGION, per product.
FOOTPRINTS = {
    "NRS_MSASPEC": (0.20, 0.46),  # one MSA shutter
    "NRS_FIXEDSLIT": (0.20, 3.30),  # S200A1
    "NRS_IFU": (3.0, 3.0),
    "MIR_LRS-FIXEDSLIT": (0.51, 4.7),
    ("MIR_MRS", "3"): (5.2, 6.2),
    ("MIR_MRS", "4"): (6.6, 7.7),
}


def _sides_arcsec(vertices: np.ndarray) -> list[float]:
    points = SkyCoord(vertices[:, 0], vertices[:, 1], unit="deg")
    following = SkyCoord(np.roll(vertices[:, 0], -1), np.roll(vertices[:, 1], -1), unit="deg")
    return sorted(points.separation(following).arcsec)


def _s_region(path: Path) -> str:
    with fits.open(path) as hdus:
        for hdu in hdus[1:]:
            if "S_REGION" in hdu.header:
                return hdu.header["S_REGION"]
    raise AssertionError(f"{path.name} has no S_REGION")


def test_spectral_footprints_have_the_aperture_sizes(mock_dir, manifest):
    checked = 0
    for entry in manifest:
        if entry["suffix"] not in ("x1d", "s2d", "s3d") or not entry["s_region_valid"]:
            continue
        region = _s_region(mock_dir / entry["filename"])
        assert region == entry["s_region"]
        key = entry["exp_type"]
        if key == "MIR_MRS":
            key = (key, fits.getval(mock_dir / entry["filename"], "CHANNEL"))
        short, long = FOOTPRINTS[key]
        sides = _sides_arcsec(_polygon(region))
        assert sides[0] == pytest.approx(short, rel=0.02) and sides[1] == pytest.approx(
            short, rel=0.02
        )
        assert sides[2] == pytest.approx(long, rel=0.02) and sides[3] == pytest.approx(
            long, rel=0.02
        )
        centre = SkyCoord(*_polygon(region).mean(axis=0), unit="deg")
        assert centre.separation(SkyCoord(entry["ra"], entry["dec"], unit="deg")).arcsec < 0.5
        checked += 1
    assert checked > 10


def test_some_footprints_are_absurd_like_pipeline_1_8_2(mock_dir, manifest):
    absurd = [e for e in manifest if e.get("s_region_valid") is False]
    assert len(absurd) >= 2
    for entry in absurd:
        vertices = _polygon(_s_region(mock_dir / entry["filename"]))
        target = SkyCoord(entry["ra"], entry["dec"], unit="deg")
        far = SkyCoord(vertices[:, 0] % 360, vertices[:, 1], unit="deg").separation(target).deg
        assert vertices[:, 0].min() < 0 or far.max() > 1.0


PIXEL_SCALE = {"NRCB1": 0.031, "NRCBLONG": 0.063, "MIRIMAGE": 0.11, "NIS": 0.0656}


def test_image_wcs_and_footprints(mock_dir, manifest):
    for entry in [e for e in manifest if e["suffix"] in ("cal", "rate", "i2d")]:
        path = mock_dir / entry["filename"]
        header = fits.getheader(path, "SCI")
        detector = fits.getval(path, "DETECTOR")
        scale = PIXEL_SCALE.get(detector) or entry["pixel_scale_arcsec"]
        wcs = WCS(header)
        assert wcs.wcs.ctype[0] == "RA---TAN" and wcs.wcs.ctype[1] == "DEC--TAN"
        pixel_scales = wcs.proj_plane_pixel_scales()
        assert [s.to_value(u.arcsec) for s in pixel_scales] == pytest.approx([scale, scale])
        rows, columns = header["NAXIS2"], header["NAXIS1"]
        sides = _sides_arcsec(_polygon(header["S_REGION"]))
        expected = sorted([rows * scale, rows * scale, columns * scale, columns * scale])
        assert sides == pytest.approx(expected, rel=0.01)
        # The footprint is where astropy puts the image corners.
        corners = wcs.calc_footprint(axes=(columns, rows))
        assert _polygon(header["S_REGION"]) == pytest.approx(corners, abs=1e-6)


def test_geometry_edge_cases_are_present(manifest):
    decs = [e["dec"] for e in manifest if e["dec"] is not None]
    ras = [e["ra"] for e in manifest if e["ra"] is not None]
    assert max(decs) > 89.0
    assert any(ra > 359.9 or ra < 0.1 for ra in ras)


# --- comparison with real pipeline products -------------------------------------------


def _layout(path: Path) -> list[str]:
    with fits.open(path) as hdus:
        return [hdu.name for hdu in hdus]


def test_layouts_match_real_products(mock_dir, manifest, real_dir):
    real_x1d = real_dir / "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
    real_s2d = real_dir / "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_s2d.fits"
    real_i2d = real_dir / "imaging/jw01288015001_04101_00001_mirimage_i2d.fits"
    ours_x1d = mock_dir / _first(manifest, "x1d", mode="nirspec_g395m_f290lp")["filename"]
    ours_s2d = mock_dir / _first(manifest, "s2d", mode="nirspec_g395m_f290lp")["filename"]
    ours_i2d = mock_dir / _first(manifest, "i2d", instrument="MIRI")["filename"]
    assert _layout(ours_x1d) == _layout(real_x1d)
    assert fits.getdata(ours_x1d, 1).columns.names == fits.getdata(real_x1d, 1).columns.names
    assert [c.format for c in fits.getdata(ours_x1d, 1).columns] == [
        c.format for c in fits.getdata(real_x1d, 1).columns
    ]
    # The real s2d also has HDRTAB (per-exposure headers), which the mock does not write,
    # and keeps its wavelengths in the gwcs, where the mock writes a WAVELENGTH image.
    assert [n for n in _layout(ours_s2d) if n != "WAVELENGTH"] == [
        n for n in _layout(real_s2d) if n != "HDRTAB"
    ]
    assert fits.getdata(ours_s2d, "WAVELENGTH").shape == fits.getdata(ours_s2d, "SCI").shape
    assert fits.getdata(ours_s2d, "SCI").shape == fits.getdata(real_s2d, "SCI").shape
    assert _layout(ours_i2d) == _layout(real_i2d)


def test_msa_files_match_the_real_msa_file(mock_dir, manifest, real_dir):
    real = fits.open(real_dir / "msa/jw02736007001_01_msa.fits")
    for entry in [e for e in manifest if e["suffix"] == "msa"]:
        with fits.open(mock_dir / entry["filename"]) as ours:
            assert [h.name for h in ours] == [h.name for h in real]
            assert ours["SHUTTER_IMAGE"].data.shape == real["SHUTTER_IMAGE"].data.shape
            for table in ("SHUTTER_INFO", "SOURCE_INFO"):
                assert [(c.name, c.format) for c in ours[table].columns] == [
                    (c.name, c.format) for c in real[table].columns
                ]
            assert set(real[0].header) <= set(ours[0].header) | {""}
            sources = ours["SOURCE_INFO"].data
            assert len(sources) == entry["n_sources"]
            assert set(ours["SHUTTER_INFO"].data["source_id"]) == set(sources["source_id"])
    real.close()


def test_associations_are_pipeline_json(mock_dir, manifest):
    for entry in [e for e in manifest if e["suffix"] == "asn"]:
        document = json.loads((mock_dir / entry["filename"]).read_text())
        assert {"asn_type", "asn_rule", "version_id", "code_version", "program", "asn_id",
                "asn_pool", "products"} <= document.keys()  # fmt: skip
        assert document["asn_type"] in entry["filename"]
        for product in document["products"]:
            assert product["members"] and all(m["exptype"] == "science" for m in product["members"])
            if document["asn_type"] == "image3":
                assert (mock_dir / f"{product['name']}_i2d.fits").exists()
                for member in product["members"]:
                    assert (mock_dir / member["expname"]).exists()
                    assert (
                        fits.getval(mock_dir / member["expname"], "ASNTABLE") == entry["filename"]
                    )
