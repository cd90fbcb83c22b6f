"""Duplicate product names (ingest/duplicates.py) decided the same way for
files under a local folder and for objects under an S3 prefix: two files of
one name with different content, the newer DATE wins wherever it comes in
path order; with equal DATE and CAL_VER, the first in path order; a file
already catalogued in the bucket still competes when it is not walked.

Truths: the DATE astropy reads in each file, hashlib's MD5 of each file's
bytes, and the layout the test wrote (a/ before b/ in path order)."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import boto3
import pytest
from astropy.io import fits
from sqlalchemy import select

from tests.storage.conftest import BUCKET
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products
from webbarchive.ingest.runner import ingest_paths

_prefixes = itertools.count()


def _variant(source: Path, target: Path, **cards) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with fits.open(source) as hdul:
        for key, value in cards.items():
            hdul[0].header[key] = value
        hdul.writeto(target)
    return target


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def x1d(storage_mock_dir) -> Path:
    found = sorted(storage_mock_dir.rglob("*_x1d.fits"))
    assert found, "the mock archive has no x1d product"
    return found[0]


def _mirror(moto_s3, folder: Path) -> str:
    """Put every file under ``folder`` in the bucket under a new prefix; the prefix's URI."""
    prefix = f"duplicates/{next(_prefixes)}"
    s3 = boto3.client("s3", endpoint_url=moto_s3.url, region_name="us-east-1")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return f"s3://{BUCKET}/{prefix}"


def _run(roots: list[str], url: str, base: str):
    """(conflicts, catalogued product) with paths relative to ``base``."""
    report = ingest_paths(roots, db_url=url, workers=1, progress=False)
    rel = lambda p: p[len(base) :].lstrip("/")  # noqa: E731
    conflicts = [
        (c.filename, rel(c.kept), tuple(map(rel, c.dropped)), c.reason) for c in report.conflicts
    ]
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        rows = conn.execute(select(products.c.filename, products.c.path, products.c.checksum))
        catalogued = {r.filename: (rel(r.path), r.checksum) for r in rows}
    engine.dispose()
    return conflicts, catalogued


def _both_ways(moto_s3, folder: Path, tmp_path: Path, steps: list[list[str]]):
    """Each step's outcome ingesting the sub-folders ``steps[i]`` of ``folder``,
    from local disk and from the bucket, each into its own catalog."""
    remote = _mirror(moto_s3, folder)
    outcomes = {}
    for kind, base in (("local", str(folder.resolve())), ("s3", remote)):
        url = str(tmp_path / f"{kind}.db")
        outcomes[kind] = [_run([f"{base}/{sub}" for sub in step], url, base) for step in steps]
    return outcomes


def test_the_newer_date_wins_in_the_bucket_as_on_disk(moto_s3, storage_cache_dir, x1d, tmp_path):
    folder = tmp_path / "files"
    older = _variant(x1d, folder / "a" / x1d.name, DATE="2022-07-01T00:00:00.000")
    newer = _variant(x1d, folder / "b" / x1d.name, DATE="2026-01-01T00:00:00.000")
    assert _md5(older) != _md5(newer)
    outcomes = _both_ways(moto_s3, folder, tmp_path, [["a", "b"]])
    assert outcomes["s3"] == outcomes["local"]
    conflicts, catalogued = outcomes["s3"][0]
    name = x1d.name
    assert conflicts == [(name, f"b/{name}", (f"a/{name}",), "newest DATE")]
    assert catalogued[name] == (f"b/{name}", _md5(newer))


def test_equal_dates_keep_the_first_in_path_order_in_the_bucket_as_on_disk(
    moto_s3, storage_cache_dir, x1d, tmp_path
):
    folder = tmp_path / "files"
    date = "2024-03-01T00:00:00.000"
    first = _variant(x1d, folder / "a" / x1d.name, DATE=date, OBSERVR="first")
    second = _variant(x1d, folder / "b" / x1d.name, DATE=date, OBSERVR="second")
    assert _md5(first) != _md5(second)
    outcomes = _both_ways(moto_s3, folder, tmp_path, [["a", "b"]])
    assert outcomes["s3"] == outcomes["local"]
    conflicts, catalogued = outcomes["s3"][0]
    name = x1d.name
    assert conflicts == [(name, f"a/{name}", (f"b/{name}",), "first in path order")]
    assert catalogued[name] == (f"a/{name}", _md5(first))


def test_a_catalogued_object_that_is_not_walked_still_competes(
    moto_s3, storage_cache_dir, x1d, tmp_path
):
    """Catalogue the newer file (b/), then walk only the older (a/): the newer,
    catalogued object is read from the bucket and keeps its place."""
    folder = tmp_path / "files"
    older = _variant(x1d, folder / "a" / x1d.name, DATE="2022-07-01T00:00:00.000")
    newer = _variant(x1d, folder / "b" / x1d.name, DATE="2026-01-01T00:00:00.000")
    outcomes = _both_ways(moto_s3, folder, tmp_path, [["b"], ["a"]])
    assert outcomes["s3"] == outcomes["local"]
    name = x1d.name
    (first_conflicts, first), (conflicts, catalogued) = outcomes["s3"]
    assert first_conflicts == [] and first[name] == (f"b/{name}", _md5(newer))
    assert conflicts == [(name, f"b/{name}", (f"a/{name}",), "newest DATE")]
    assert catalogued[name] == (f"b/{name}", _md5(newer))
    assert _md5(older) != _md5(newer)
