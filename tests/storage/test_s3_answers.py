"""The S3 storage variant answers byte for byte as the local folder does:
downloads (whole, HEAD, every Range form), retrieve, /thumb (PNG and FITS)
and the pixel search, over the same mock files catalogued in place and
catalogued from a moto S3 bucket. Truth: the local variant's answer and the
file's bytes on disk."""

from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import select

from tests.storage.conftest import BUCKET, PREFIX, ROOT
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products

DOWNLOAD = "/api/v0.1/Download/file"
#: Headers that legitimately differ: the object's modification time is the upload's.
VARYING = {"last-modified", "date"}


def _products(url: str) -> dict[str, dict]:
    with open_catalog(url).connect() as conn:
        rows = conn.execute(select(products)).mappings().all()
    return {r["filename"]: dict(r) for r in rows}


@pytest.fixture(scope="module")
def catalogued(storage_archives) -> dict[str, dict[str, dict]]:
    return {kind: _products(url) for kind, url in storage_archives.items()}


def _pick(catalogued, suffix: str) -> str:
    names = sorted(n for n, r in catalogued["local"].items() if r["suffix"] == suffix)
    assert names, f"the mock archive has no {suffix} product"
    return names[0]


def test_the_s3_archive_catalogues_the_same_products_in_the_bucket(catalogued):
    local, remote = catalogued["local"], catalogued["s3"]
    assert set(local) == set(remote)
    for name, row in remote.items():
        assert row["path"] == f"{ROOT}/{name}"
        assert row["checksum"] == local[name]["checksum"]
        assert row["size"] == local[name]["size"]


def _same(answers) -> None:
    local, remote = answers["local"], answers["s3"]
    assert remote.status_code == local.status_code, remote.text[:300]
    assert remote.content == local.content
    strip = lambda h: {k: v for k, v in h.items() if k.lower() not in VARYING}  # noqa: E731
    assert strip(remote.headers) == strip(local.headers)


RANGES = [None, "bytes=0-0", "bytes=100-2999", "bytes=2880-", "bytes=-1000", "bytes=0-1,5-9"]


@pytest.mark.parametrize("byte_range", RANGES)
@pytest.mark.parametrize("suffix", ["x1d", "s2d", "cal"])
def test_downloads_are_byte_identical(storage_clients, catalogued, suffix, byte_range):
    name = _pick(catalogued, suffix)
    headers = {"Range": byte_range} if byte_range else {}
    answers = {
        kind: client.get(DOWNLOAD, params={"uri": f"mast:JWST/product/{name}"}, headers=headers)
        for kind, client in storage_clients.items()
    }
    _same(answers)
    body = open(catalogued["local"][name]["path"], "rb").read()
    if byte_range in (None, "bytes=0-1,5-9"):  # several ranges: the whole file
        assert answers["s3"].status_code == 200
        assert hashlib.md5(answers["s3"].content).hexdigest() == hashlib.md5(body).hexdigest()
    else:
        assert answers["s3"].status_code == 206


def test_head_is_identical(storage_clients, catalogued):
    name = _pick(catalogued, "x1d")
    answers = {
        kind: client.head(DOWNLOAD, params={"uri": name})
        for kind, client in storage_clients.items()
    }
    _same(answers)
    assert answers["s3"].headers["content-length"] == str(catalogued["s3"][name]["size"])


@pytest.mark.parametrize("suffix", ["x1d", "s2d", "s3d"])
def test_retrieve_is_byte_identical(storage_clients, catalogued, suffix):
    name = _pick(catalogued, suffix)
    answers = {
        kind: client.get("/spectra/api/v0.1/retrieve", params={"uri": name})
        for kind, client in storage_clients.items()
    }
    assert answers["local"].status_code == 200
    _same(answers)


def _mosaic_centre(catalogued) -> tuple[float, float]:
    rows = [r for r in catalogued["local"].values() if r["filename"].endswith("_drc_sci.fits")]
    assert rows, "the mock archive has no DJA mosaic"
    from astropy.io import fits
    from astropy.wcs import WCS

    header = fits.getheader(rows[0]["path"])
    ny, nx = header["NAXIS2"], header["NAXIS1"]
    ra, dec = WCS(header, naxis=2).pixel_to_world_values(nx / 2, ny / 2)
    return float(ra), float(dec)


@pytest.mark.parametrize("output", ["png", "fits"])
def test_thumbnails_are_byte_identical(storage_clients, catalogued, output):
    ra, dec = _mosaic_centre(catalogued)
    params = {"coords": f"{ra},{dec}", "size": "4", "output": output}
    answers = {
        kind: client.get("/thumb", params=params) for kind, client in storage_clients.items()
    }
    assert answers["local"].status_code == 200, answers["local"].text[:300]
    assert len(answers["local"].content) > 1000
    _same(answers)


@pytest.mark.parametrize(
    "query",
    ["wavelength=1.2,1.3&derSnr.gt=5", "wavelength=2.9,3.0", "wavelength=3,3.5&instrument=nirspec"],
)
def test_pixel_search_is_identical(storage_clients, query):
    answers = {
        kind: client.get(f"/spectra/api/v0.1/search?{query}&limit=100000")
        for kind, client in storage_clients.items()
    }
    assert answers["local"].status_code == 200 and answers["s3"].status_code == 200
    local, remote = answers["local"].json(), answers["s3"].json()
    assert local["paging"]["total"] > 0
    assert remote["paging"] == local["paging"]
    # the catalog query names the moment it ran (release dates), and the two ingests
    # number the products in their own order (walked folder, listed bucket): rows
    # whose wavelengths tie may come in another order
    assert _undated(remote["query"]) == _undated(local["query"])
    assert sorted(map(repr, remote["results"])) == sorted(map(repr, local["results"]))


def _undated(sql: str) -> str:
    import re

    return re.sub(r"<= \d{5}\.\d+", "<= NOW", sql)


def test_path_lookup_answers_the_key_in_the_bucket(storage_clients, catalogued):
    name = _pick(catalogued, "x1d")
    uri = f"mast:JWST/product/{name}"
    remote = storage_clients["s3"].get("/api/v0.1/path_lookup/", params={"uri": uri}).json()
    assert remote == {uri: {"status_code": 200, "path": f"/{PREFIX}/{name}"}}
    # as astroquery composes it: s3://<bucket>/ + the path without its leading /
    assert f"s3://{BUCKET}/" + remote[uri]["path"].lstrip("/") == catalogued["s3"][name]["path"]
    local = storage_clients["local"].get("/api/v0.1/path_lookup/", params={"uri": uri}).json()
    assert local[uri]["status_code"] == 404 and local[uri]["path"] is None


def test_presigned_redirect_serves_the_same_bytes_with_ranges(storage_archives, catalogued):
    import httpx
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    name = _pick(catalogued, "x1d")
    body = open(catalogued["local"][name]["path"], "rb").read()
    for kind, url in storage_archives.items():
        app = create_app(Settings.from_env(db_url=url, download_redirect=True))
        with TestClient(app) as client:
            answer = client.get(DOWNLOAD, params={"uri": name}, follow_redirects=False)
        if kind == "local":  # a local file has no URL of its own: streamed as before
            assert answer.status_code == 200 and answer.content == body
            continue
        assert answer.status_code == 307
        location = answer.headers["location"]
        assert location.startswith(os.environ["AWS_ENDPOINT_URL"]) and "Signature=" in location
        whole = httpx.get(location)
        assert whole.status_code == 200 and whole.content == body
        part = httpx.get(location, headers={"Range": "bytes=100-2999"})
        assert part.status_code == 206 and part.content == body[100:3000]
        unsigned = httpx.get(location.split("?", 1)[0])
        assert unsigned.status_code == 403  # the signature is what grants access


def test_msa_slits_come_from_the_bucket_as_from_the_folder(storage_archives):
    """Ingest into the bucket builds the DJA slit table from the MSA metadata it
    put there (astropy reads a cached local copy): the same shutters, sources
    and positions as the archive catalogued in place, and not none."""
    from webbarchive.dja.spectra.tables import nirspec_slits

    columns = [c for c in nirspec_slits.c if c.name not in ("slit_row_id", "product_id",
                                                            "msa_product_id")]  # fmt: skip

    def slits(url: str) -> list[tuple]:
        with open_catalog(url).connect() as conn:
            rows = conn.execute(select(*columns)).all()
        return sorted((tuple(r) for r in rows), key=repr)

    in_place, from_bucket = slits(storage_archives["local"]), slits(storage_archives["s3"])
    assert in_place, "the mock has MSA slits: an empty table proves nothing"
    assert from_bucket == in_place
