"""spectra/api/v0.1/retrieve against astropy's reading of real and built files.

Truths: the seed's reply shape (001_a0a2d59d1416d624.txt), astropy's reading of
the real NIRSpec MOS/FS x1d and s2d (values, units, NaN positions), the
pipeline's own x1d WAVELENGTH as the truth for the s2d wavelengths that we
evaluate from the gwcs, hand-computed linear cube wavelengths, and
tracemalloc's peak while a realistic cube is serialized.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import orjson
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient
from tests.rows import add_file_product

from webbarchive.api.app import create_app
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products
from webbarchive.config import Settings
from webbarchive.pixels.spectral_data import api_column_name, json_chunks, read_product

X1D = "jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
S2D = "jw02736-o007_s06355_nirspec_f290lp-g395m_s2d.fits"
FS_X1D = "jw01492-o005_s00004_nirspec_f100lp-g140m-s1600a1-sub2048_x1d.fits"
FS_S2D = "jw01492-o005_s00004_nirspec_f100lp-g140m-s1600a1-sub2048_s2d.fits"
I2D = "jw01288015001_04101_00001_mirimage_i2d.fits"
MULTI = "jw02736-o007_s99999_nirspec_f290lp-g395m_x1d.fits"
C1D = "jw02736-o007_s06355_nirspec_f290lp-g395m_c1d.fits"
CUBE = "jw01234-o001_t001_nirspec_g395h-f290lp_s3d.fits"
TABCUBE = "jw01234-o001_t001_miri_ch1-shortmediumlong_s3d.fits"
BROKEN = "jw01234-o002_t001_nirspec_g395h-f290lp_x1d.fits"
GONE = "jw01234-o003_t001_nirspec_g395h-f290lp_x1d.fits"
SECRET = "jw09999-o001_s00001_nirspec_clear-prism_x1d.fits"
ROUTE = "/spectra/api/v0.1/retrieve"

CUBE_WAVE = {"CRVAL3": 2.87, "CDELT3": 0.000665, "CRPIX3": 1.0}


def _cube_hdul(nz: int, ny: int, nx: int, *, tab: bool = False, seed: int = 1) -> fits.HDUList:
    """An s3d-like file: SCI/ERR float32, DQ uint32, and the pipeline's cube WCS
    (linear WAVE axis, or WAVE-TAB with a WCS-TABLE extension)."""
    rng = np.random.default_rng(seed)
    sci = rng.normal(1.0, 0.1, (nz, ny, nx)).astype(np.float32)
    sci[:, 0, :] = np.nan  # NaN edge, as resampled cubes have
    err = np.abs(rng.normal(0.05, 0.01, (nz, ny, nx))).astype(np.float32)
    dq = np.zeros((nz, ny, nx), dtype=np.uint32)
    dq[:, 0, :] = 513
    header = fits.Header()
    for key, value in {
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CUNIT1": "deg",
        "CUNIT2": "deg",
        "CRPIX1": nx / 2,
        "CRPIX2": ny / 2,
        "CRVAL1": 214.8,
        "CRVAL2": 52.8,
        "CDELT1": 2.8e-5,
        "CDELT2": 2.8e-5,
        "CUNIT3": "um",
        "BUNIT": "MJy/sr",
    }.items():
        header[key] = value
    hdus = [fits.PrimaryHDU()]
    if tab:
        header["CTYPE3"] = "WAVE-TAB"
        header["PS3_0"] = "WCS-TABLE"
        header["PS3_1"] = "wavelength"
        header["CRPIX3"] = 1.0
        header["CRVAL3"] = 1.0
        header["CDELT3"] = 1.0
    else:
        header["CTYPE3"] = "WAVE"
        header.update(CUBE_WAVE)
    hdus.append(fits.ImageHDU(sci, header=header, name="SCI"))
    hdus.append(fits.ImageHDU(err, header=fits.Header({"BUNIT": "MJy/sr"}), name="ERR"))
    hdus.append(fits.ImageHDU(dq, name="DQ", uint=True))
    if tab:
        grid = 4.9 * np.exp(np.arange(nz) * 2e-4)  # non-linear, as multi-band cubes
        table = fits.BinTableHDU.from_columns(
            [fits.Column("wavelength", f"{nz}E", "um", dim=f"(1,{nz})", array=[grid[:, None]])],
            name="WCS-TABLE",
        )
        hdus.append(table)
    return fits.HDUList(hdus)


def _add(conn, filename: str, path: Path, **extra) -> None:
    add_file_product(conn, filename.split(".")[0], filename, path, **extra)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, real_dir, tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("spectra")
    if request.param == "sqlite":
        url = str(tmp / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"spec_{os.getpid()}")
    spectra = real_dir / "spectra"
    paths = {
        X1D: spectra / X1D,
        S2D: spectra / S2D,
        FS_X1D: spectra / FS_X1D,
        FS_S2D: spectra / FS_S2D,
        I2D: real_dir / "imaging" / I2D,
    }

    # Two slits in one x1d, as level-2 MOS files hold: the real table twice,
    # the second with its flux doubled and its own SLTNAME/SOURCEID.
    with fits.open(spectra / X1D) as real:
        second = real["EXTRACT1D"].copy()
        second.ver = 2
        second.data["FLUX"] = second.data["FLUX"] * 2
        second.header["SLTNAME"] = "S200A1"
        second.header["SOURCEID"] = 99999
        fits.HDUList([real[0].copy(), real["EXTRACT1D"].copy(), second]).writeto(tmp / MULTI)
        table = real["EXTRACT1D"].data
        combined = fits.BinTableHDU.from_columns(
            [
                fits.Column("WAVELENGTH", "D", "um", array=table["WAVELENGTH"]),
                fits.Column("FLUX", "D", "Jy", array=table["FLUX"]),
                fits.Column("ERROR", "D", "Jy", array=table["FLUX_ERROR"]),
                fits.Column("DQ", "J", array=table["DQ"].astype(np.int32)),
                fits.Column("WEIGHT", "D", array=np.ones(len(table))),
                fits.Column("N_INPUT", "D", array=np.full(len(table), 3.0)),
            ],
            name="COMBINE1D",
        )
        fits.HDUList([real[0].copy(), combined]).writeto(tmp / C1D)
    paths[MULTI] = tmp / MULTI
    paths[C1D] = tmp / C1D
    _cube_hdul(40, 6, 5).writeto(tmp / CUBE)
    paths[CUBE] = tmp / CUBE
    _cube_hdul(30, 4, 3, tab=True).writeto(tmp / TABCUBE)
    paths[TABCUBE] = tmp / TABCUBE
    (tmp / BROKEN).write_bytes((spectra / X1D).read_bytes()[:5000])  # truncated
    paths[BROKEN] = tmp / BROKEN
    shutil.copy(spectra / X1D, tmp / GONE)
    paths[GONE] = tmp / GONE
    shutil.copy(spectra / X1D, tmp / SECRET)
    paths[SECRET] = tmp / SECRET

    engine = open_catalog(url)
    with engine.begin() as conn:
        for name, path in paths.items():
            extra = (
                {"proposal_id": "9999", "publicReleaseDate_mjd": 99999.0} if name == SECRET else {}
            )
            _add(conn, name, path, **extra)
    engine.dispose()
    (tmp / GONE).unlink()
    paths["url"] = url
    return paths


@pytest.fixture(scope="module")
def client(archive):
    with TestClient(create_app(Settings.from_env(db_url=archive["url"]))) as test_client:
        yield test_client


def _retrieve(client, uri: str, **params):
    return client.get(ROUTE, params={"uri": uri, **params})


def _as_float_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def test_x1d_matches_the_seed_shape_and_astropy(client, archive):
    r = _retrieve(client, f"mast:JWST/product/{X1D}")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == 1
    assert body["message"] == f"Successfully found data for {X1D}"
    assert body["uri"] == f"mast:JWST/product/{X1D}"
    assert body["filename"] == X1D
    assert body["n_extensions"] == 1
    assert body["extension"]["source_id"] == 6355
    assert body["extension"]["extname"] == "EXTRACT1D"
    # the seed's metadata entry for wavelength, field for field
    assert body["column_metadata"]["wavelength"] == {
        "dtype": "float",
        "description": "wavelength values",
        "units": "um",
        "fitsExt": "WAVELENGTH",
    }
    with fits.open(archive[X1D]) as hdul:
        table = hdul["EXTRACT1D"].data
        columns = hdul["EXTRACT1D"].columns
        assert list(body["data"]) == [api_column_name(n) for n in columns.names]
        assert {"wavelength", "flux", "fluxErr", "surfBright", "sbErr", "dq"} <= set(body["data"])
        assert {"background", "bkgdErr", "npixels", "fluxVarPoisson"} <= set(body["data"])
        for col in columns:
            name = api_column_name(col.name)
            meta = body["column_metadata"][name]
            assert meta["fitsExt"] == col.name
            assert meta["units"] == (col.unit or None)
            assert meta["description"]
            got = body["data"][name]
            assert len(got) == len(table) == 1215
            expected = np.asarray(table[col.name])
            if expected.dtype.kind == "f":
                # NaN is written as null, at exactly the positions astropy has NaN
                assert [v is None for v in got] == np.isnan(expected).tolist(), col.name
                np.testing.assert_array_equal(_as_float_array(got), expected)
            else:
                assert meta["dtype"] == "int"
                assert got == expected.tolist()
    assert body["column_metadata"]["flux"]["units"] == "Jy"
    assert body["column_metadata"]["dq"]["units"] is None
    assert sum(v is None for v in body["data"]["fluxErr"]) == 74  # counted with astropy above
    assert body["data"]["wavelength"][0] == pytest.approx(2.84863722, abs=1e-8)


def test_bare_filename_and_fixed_slit(client, archive):
    r = _retrieve(client, FS_X1D)
    assert r.status_code == 200
    body = r.json()
    with fits.open(archive[FS_X1D]) as hdul:
        flux = hdul["EXTRACT1D"].data["FLUX"]
    np.testing.assert_array_equal(_as_float_array(body["data"]["flux"]), flux)
    assert body["extension"]["slit_name"] == "S1600A1"


def test_several_spectra_in_one_x1d(client, archive):
    first = _retrieve(client, MULTI).json()
    assert first["n_extensions"] == 2
    assert first["extension"]["index"] == 1
    second = _retrieve(client, MULTI, ext="2").json()
    assert second["extension"] == {
        "index": 2,
        "extname": "EXTRACT1D",
        "extver": 2,
        "slit_name": "S200A1",
        "source_id": 99999,
        "source_name": "2736_6355",
        "spectral_order": -1,
    }
    np.testing.assert_array_equal(
        _as_float_array(second["data"]["flux"]), 2 * _as_float_array(first["data"]["flux"])
    )
    for bad in ("3", "0", "-1", "x", "1.5"):
        r = _retrieve(client, MULTI, ext=bad)
        assert r.status_code == 400, bad
        assert "ext" in r.json()["message"]
    assert "1..2" in _retrieve(client, MULTI, ext="3").json()["accepted"]


def test_c1d_columns(client, archive):
    body = _retrieve(client, C1D).json()
    assert list(body["data"]) == ["wavelength", "flux", "fluxErr", "dq", "weight", "nInput"]
    assert body["column_metadata"]["fluxErr"]["fitsExt"] == "ERROR"
    assert body["column_metadata"]["nInput"]["description"]
    with fits.open(archive[X1D]) as hdul:
        expected = hdul["EXTRACT1D"].data["FLUX_ERROR"]
    np.testing.assert_array_equal(_as_float_array(body["data"]["fluxErr"]), expected)
    assert body["data"]["nInput"][:2] == [3.0, 3.0]


@pytest.mark.parametrize("s2d, x1d", [(S2D, X1D), (FS_S2D, FS_X1D)])
def test_s2d_images_and_gwcs_wavelength(client, archive, s2d, x1d):
    body = _retrieve(client, s2d).json()
    assert list(body["data"]) == ["wavelength", "flux", "fluxErr"]  # these files carry no DQ
    with fits.open(archive[s2d]) as hdul:
        sci = hdul["SCI"].data
        err = hdul["ERR"].data
        bunit = hdul["SCI"].header["BUNIT"]
    meta = body["column_metadata"]
    assert meta["flux"]["shape"] == list(sci.shape)
    assert meta["flux"]["fitsExt"] == "SCI" and meta["flux"]["units"] == bunit
    assert meta["flux"]["description"] == "The science data"  # stdatamodels' title
    flux = np.array(body["data"]["flux"], dtype=float)  # None -> nan
    assert flux.shape == sci.shape
    np.testing.assert_array_equal(np.isnan(flux), np.isnan(sci))
    np.testing.assert_array_equal(flux.astype(np.float32), sci)
    # float32 pixels are written in their shortest float32 form: exact on the way back
    np.testing.assert_array_equal(np.array(body["data"]["fluxErr"], dtype=np.float32), err)
    # The wavelength is evaluated from the gwcs; the pipeline's own x1d of the
    # same slit holds the same grid in its WAVELENGTH column.
    assert meta["wavelength"]["fitsExt"] == "ASDF" and meta["wavelength"]["units"] == "um"
    wavelength = np.array(body["data"]["wavelength"], dtype=float)
    with fits.open(archive[x1d]) as hdul:
        truth = hdul["EXTRACT1D"].data["WAVELENGTH"]
    assert wavelength.shape == sci.shape
    for row in wavelength:
        np.testing.assert_allclose(row, truth, rtol=0, atol=1e-12)


def test_s3d_linear_wavelength_and_cube(client, archive):
    r = _retrieve(client, CUBE)
    assert r.status_code == 200
    assert "content-length" not in r.headers  # streamed
    body = orjson.loads(r.content)
    k = np.arange(40)
    expected = CUBE_WAVE["CRVAL3"] + (k + 1 - CUBE_WAVE["CRPIX3"]) * CUBE_WAVE["CDELT3"]
    np.testing.assert_allclose(body["data"]["wavelength"], expected, rtol=1e-12)
    assert body["column_metadata"]["wavelength"]["fitsExt"] == "WCS"
    assert body["column_metadata"]["flux"]["shape"] == [40, 6, 5]
    assert body["column_metadata"]["dq"]["dtype"] == "int"
    with fits.open(archive[CUBE]) as hdul:
        for name, ext in (("flux", "SCI"), ("fluxErr", "ERR"), ("dq", "DQ")):
            truth = hdul[ext].data
            got = np.array(body["data"][name], dtype=float).astype(truth.dtype)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(truth))
            np.testing.assert_array_equal(got, truth)
    assert body["data"]["flux"][3][0] == [None] * 5
    assert body["data"]["dq"][3][0] == [513] * 5


def test_s3d_wave_tab(client, archive):
    body = _retrieve(client, TABCUBE).json()
    assert body["column_metadata"]["wavelength"]["fitsExt"] == "WCS-TABLE"
    np.testing.assert_allclose(
        body["data"]["wavelength"], 4.9 * np.exp(np.arange(30) * 2e-4), rtol=1e-6
    )


def test_s3d_streams_in_bounded_memory(tmp_path):
    """A NIRSpec G395H-sized cube (1800 planes of 45 x 45; SCI, ERR and DQ are
    14.6 MB each) is serialized with a small, bounded peak of traced memory."""
    path = tmp_path / CUBE
    _cube_hdul(1800, 45, 45).writeto(path)
    cube_bytes = 1800 * 45 * 45 * 4
    _cube_hdul(3, 4, 5).writeto(tmp_path / "warmup_s3d.fits")
    for _ in json_chunks({}, read_product(str(tmp_path / "warmup_s3d.fits"), "s3d")):
        pass  # imports (astropy.wcs, yaml schemas) are not the cube's memory
    tracemalloc.start()
    try:
        product = read_product(str(path), "s3d")
        total = pieces = largest = 0
        for piece in json_chunks({"status": 1}, product):
            total += len(piece)
            pieces += 1
            largest = max(largest, len(piece))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 3 * cube_bytes  # the whole cube went out, as text
    assert pieces > 100 and largest < 1 << 20
    assert peak < cube_bytes / 10, f"peak {peak / 1e6:.1f} MB for a {cube_bytes / 1e6:.1f} MB cube"


def test_other_products_are_400_listing_the_supported_types(client):
    r = _retrieve(client, I2D)
    assert r.status_code == 400
    assert r.json()["accepted"] == ["x1d", "c1d", "s2d", "s3d"]
    assert "i2d" in r.json()["message"]


def test_errors(client):
    r = _retrieve(client, "jw00000-o000_t000_nothing_x1d.fits")
    assert r.status_code == 404 and "jw00000" in r.json()["message"]
    r = _retrieve(client, GONE)
    assert r.status_code == 404 and "missing from storage" in r.json()["message"]
    r = _retrieve(client, BROKEN)
    assert r.status_code == 422 and BROKEN in r.json()["message"]
    r = client.get(ROUTE)
    assert r.status_code == 400 and r.json()["accepted"]
    r = _retrieve(client, SECRET)
    assert r.status_code == 401 and "exclusive access" in r.json()["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"uri": "\x00"},
        {"uri": "mast:JWST/product/"},
        {"uri": "mast:HST/product/x_x1d.fits"},
        {"uri": "../../etc/passwd"},
        {"uri": "x" * 5000},
        {"uri": "'; DROP TABLE products; --"},
        {"uri": X1D, "ext": "\x00"},
        {"uri": X1D, "ext": "9" * 400},
        {"uri": X1D, "ext": "1e3"},
        {"uri": CUBE, "ext": "2"},
        {"uri": S2D, "ext": "7"},
        {"uri": X1D, "unknown": "1"},
    ],
)
def test_garbage_never_500(client, params):
    r = client.get(ROUTE, params=params)
    assert 400 <= r.status_code < 500 or r.status_code == 200, r.text
    if r.status_code != 200:
        assert r.json()["message"]


@pytest.mark.parametrize("query", ["uri=%ff%fe.fits", "uri=%ED%A0%80", "uri=a&uri=b", "ext=1"])
def test_raw_garbage_queries_never_500(client, query):
    assert client.get(f"{ROUTE}?{query}").status_code < 500


# --- the shared archive: the mock sky and the real files, ingested -------------------


@pytest.fixture(scope="module")
def ingested(archive_url):
    """The session's ingested archive (mock + real files) and a client on it."""
    from sqlalchemy import select

    from webbarchive.catalog.rights import User, visible_products

    engine = open_catalog(archive_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(products.c.filename, products.c.path, products.c.suffix).where(
                products.c.suffix.in_(["x1d", "c1d", "s2d", "s3d"]),
                visible_products(User()),
            )
        ).all()
    engine.dispose()
    with TestClient(create_app(Settings.from_env(db_url=archive_url))) as test_client:
        yield (
            test_client,
            {
                suffix: [r for r in rows if r.suffix == suffix]
                for suffix in ("x1d", "c1d", "s2d", "s3d")
            },
        )


@pytest.mark.parametrize("suffix", ["x1d", "c1d", "s2d", "s3d"])
def test_ingested_products_match_astropy(ingested, suffix):
    """One public product of each type from the ingested archive: the reply's
    flux is astropy's reading of the same file (first table / SCI extension)."""
    test_client, by_suffix = ingested
    if not by_suffix[suffix]:
        pytest.skip(f"no public {suffix} product in the ingested archive")
    row = sorted(by_suffix[suffix])[0]
    r = test_client.get(ROUTE, params={"uri": f"mast:JWST/product/{row.filename}"})
    assert r.status_code == 200, r.text
    body = orjson.loads(r.content)
    assert body["filename"] == row.filename
    with fits.open(row.path) as hdul:
        if suffix in ("x1d", "c1d"):
            table = hdul["EXTRACT1D" if suffix == "x1d" else "COMBINE1D"].data
            truth = np.asarray(table["FLUX"], dtype=float)
            np.testing.assert_array_equal(_as_float_array(body["data"]["flux"]), truth)
            np.testing.assert_array_equal(
                _as_float_array(body["data"]["wavelength"]), table["WAVELENGTH"]
            )
        else:
            truth = hdul["SCI"].data
            got = np.array(body["data"]["flux"], dtype=float).astype(truth.dtype)
            np.testing.assert_array_equal(got, truth)
            if suffix == "s3d":
                assert len(body["data"]["wavelength"]) == truth.shape[0]
            elif "wavelength" in body["data"]:
                assert np.array(body["data"]["wavelength"]).shape == truth.shape
            else:
                # a file with neither a WAVELENGTH image nor a gwcs (the mock's
                # s2d): the reply says so instead of inventing a grid
                assert "WAVELENGTH" not in hdul
                assert any("wavelength not available" in n for n in body["notes"])


def test_ingested_download_matches_the_file(ingested):
    test_client, by_suffix = ingested
    rows = by_suffix["s3d"] or by_suffix["x1d"]
    if not rows:
        pytest.skip("no public spectral product in the ingested archive")
    row = sorted(rows)[0]
    data = Path(row.path).read_bytes()
    r = test_client.get("/api/v0.1/Download/file", params={"uri": row.filename})
    assert r.status_code == 200 and r.content == data
    assert r.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    r = test_client.get(
        "/api/v0.1/Download/file", params={"uri": row.filename}, headers={"Range": "bytes=-100"}
    )
    assert r.status_code == 206 and r.content == data[-100:]
