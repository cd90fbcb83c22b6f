"""The pixel store in object storage answers byte for byte as on local disk.

The mock archive is ingested twice from the same folder, into two SQLite
catalogs that number their products alike: once with the pixel store beside
the catalog (the truth) and once with ``WEBBARCHIVE_PIXELS`` in a moto S3
bucket. Every pixel search (first pages, totals, paging, a grating filter,
the DuckDB plans, the s3d cone, the Dask scan) must answer the same bytes,
for a stranger and for the PI of an exclusive-access program;
``webbarchive pixels verify`` must find the bucket's store consistent and
notice an object deleted behind the catalog's back.

The setting is read from the environment by every call, so each answer is
asked with the setting of its archive (:func:`pixels_setting`).
"""

from __future__ import annotations

import contextlib
import os
import re

import boto3
import pytest
from sqlalchemy import select

import webbarchive.pixels.query as query_module
from tests.storage.conftest import BUCKET
from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products
from webbarchive.pixels import segment_files
from webbarchive.pixels.store import pixels_root
from webbarchive.pixels.tables import pixel_segment_files, pixel_segments

PIXELS = f"s3://{BUCKET}/pixel-stores"
SEARCH = "/spectra/api/v0.1/search"
#: Exclusive in the mock archive and made so for good (release in 2132).
EXCLUSIVE = "6802"
KINDS = ("local", "s3")


@contextlib.contextmanager
def pixels_setting(value: str | None):
    """``WEBBARCHIVE_PIXELS`` set to ``value`` (None: unset) for the block."""
    saved = os.environ.get("WEBBARCHIVE_PIXELS")
    if value is None:
        os.environ.pop("WEBBARCHIVE_PIXELS", None)
    else:
        os.environ["WEBBARCHIVE_PIXELS"] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("WEBBARCHIVE_PIXELS", None)
        else:
            os.environ["WEBBARCHIVE_PIXELS"] = saved


def _setting(kind: str) -> str | None:
    return PIXELS if kind == "s3" else None


@pytest.fixture(scope="module")
def pixel_archives(moto_s3, storage_mock_dir, tmp_path_factory):
    """``{kind: (catalog url, the PI's token)}``: the mock archive with its pixel
    store on local disk and in the bucket."""
    from webbarchive.ingest.runner import ingest_paths

    folder = tmp_path_factory.mktemp("s3-pixels")
    archives = {}
    for kind in KINDS:
        url = str(folder / f"{kind}.db")
        with pixels_setting(_setting(kind)):
            ingest_paths([str(storage_mock_dir)], db_url=url, workers=2, progress=False)
        engine = open_catalog(url)
        accounts.set_release(engine, EXCLUSIVE, 99_999.0)
        accounts.add_user(engine, "pi")
        accounts.set_pi(engine, EXCLUSIVE, "pi")
        archives[kind] = (url, accounts.create_token(engine, "pi", "s3-pixels").token)
        engine.dispose()
    return archives


@pytest.fixture(scope="module")
def clients(pixel_archives):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    made = {}
    for kind, (url, _token) in pixel_archives.items():
        with pixels_setting(_setting(kind)):
            app = create_app(Settings.from_env(db_url=url))
        app.state.rate_limiter = None
        made[kind] = TestClient(app)
        made[kind].__enter__()
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


def _undated(text: str) -> str:
    """The answer without the moment it was asked (the catalog query names today's MJD)."""
    return re.sub(r"<= \d{5}\.\d+", "<= NOW", text)


def _ask(clients, pixel_archives, query: str, who: str = "stranger") -> dict[str, object]:
    answers = {}
    for kind in KINDS:
        token = pixel_archives[kind][1]
        headers = {"Authorization": f"token {token}"} if who == "pi" else {}
        with pixels_setting(_setting(kind)):
            answers[kind] = clients[kind].get(f"{SEARCH}?{query}", headers=headers)
        assert answers[kind].status_code == 200, answers[kind].text[:500]
    return answers


def _same(answers) -> dict:
    """Both answers, byte for byte (but for the moment); the local one, parsed."""
    assert _undated(answers["s3"].text) == _undated(answers["local"].text)
    return answers["local"].json()


def test_ingest_writes_the_segments_to_the_bucket(pixel_archives):
    url = pixel_archives["s3"][0]
    engine = open_catalog(url)
    with pixels_setting(PIXELS):
        root = pixels_root(engine)
    assert isinstance(root, str) and root.startswith(f"{PIXELS}/s3.db-")
    assert not os.path.exists(f"{url}.pixels"), "nothing is written beside the catalog"
    with engine.connect() as conn:
        listed = dict(
            conn.execute(select(pixel_segment_files.c.segment, pixel_segment_files.c.bytes)).all()
        )
        live = set(conn.execute(select(pixel_segments.c.segment)).scalars())
    bucket, prefix = root.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3")
    objects = {
        item["Key"].removeprefix(prefix + "/"): item["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    }
    assert live and set(objects) == live  # compaction left nothing behind
    assert {s: listed[s] for s in live} == objects  # the sizes recorded at upload


QUERIES = {
    "first page": "wavelength=1.2,1.3&derSnr.gt=5&limit=50",
    "every row": "wavelength=2.9,3.0&limit=100000",
    "second page": "wavelength=1,5&limit=100&offset=100",
    "grating": "wavelength=1,2&grating=G140M&limit=500",
    "deep page": "productType=s2d&wavelength=1,5&limit=40&offset=25000",
    "s2d flux": "productType=s2d&wavelength=0.6,5.3&flux.gt=0&limit=20",
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_searches_answer_the_same_bytes(clients, pixel_archives, name):
    answer = _same(_ask(clients, pixel_archives, QUERIES[name]))
    assert answer["results"], "an empty answer proves nothing"
    assert answer["paging"]["total"] > 0


def test_duckdb_plans_read_the_bucket_through_arrow(clients, pixel_archives, monkeypatch):
    """Counts decoded in batches of row groups and a deep page through DuckDB
    (LIMIT/OFFSET) answer the same from the bucket as from the folder: the
    bucket's segments reach DuckDB as a pyarrow dataset, the local ones by path."""
    monkeypatch.setattr(query_module, "COUNT_SCAN_MAX_GROUPS", 0)
    sources = []
    real = query_module.duckdb_source

    def recording(paths):
        source, tables = real(paths)
        sources.append((paths[0].split("://")[0] if "://" in paths[0] else "file", bool(tables)))
        return source, tables

    monkeypatch.setattr(query_module, "duckdb_source", recording)
    for query in ("productType=s2d&wavelength=0.6,5.3&flux.gt=0&limit=20",
                  "productType=s2d&wavelength=1,5&limit=40&offset=25000"):  # fmt: skip
        answer = _same(_ask(clients, pixel_archives, query))
        assert answer["paging"]["total"] > 25_000
    assert ("s3", True) in sources and ("file", False) in sources
    assert set(sources) == {("s3", True), ("file", False)}


def test_duckdb_reads_each_bucket_footer_once(clients, pixel_archives, monkeypatch):
    """A repeated deep page through DuckDB reads no segment footer from the
    bucket again (each was one ranged GET per candidate segment per query), and
    answers the same bytes as the local store."""
    monkeypatch.setattr(query_module, "COUNT_SCAN_MAX_GROUPS", 0)
    query = "productType=s2d&wavelength=1,5&limit=40&offset=25000"
    first = _same(_ask(clients, pixel_archives, query))
    before = segment_files.remote_fragment.cache_info()
    again = _same(_ask(clients, pixel_archives, query))
    after = segment_files.remote_fragment.cache_info()
    assert again["results"] == first["results"] and again["paging"] == first["paging"]
    assert first["results"] and first["paging"]["total"] > 0
    assert after.misses == before.misses, "a footer was read from the bucket again"
    assert after.hits > before.hits


def _cube(pixel_archives) -> tuple[float, float]:
    with open_catalog(pixel_archives["local"][0]).connect() as conn:
        ra, dec = conn.execute(
            select(products.c.s_ra, products.c.s_dec)
            .where(products.c.suffix == "s3d", products.c.proposal_id != EXCLUSIVE)
            .order_by(products.c.filename)
        ).first()
    return ra, dec


def test_the_s3d_cone_answers_the_same_bytes(clients, pixel_archives):
    ra, dec = _cube(pixel_archives)
    query = f"productType=s3d&ra={ra}&dec={dec}&radius=0.0005&limit=2000"
    answer = _same(_ask(clients, pixel_archives, query))
    assert answer["results"] and answer["paging"]["total"] > 0
    assert all(r["z"] is not None for r in answer["results"])


def test_exclusive_pixels_stay_hidden_in_the_bucket(clients, pixel_archives):
    with open_catalog(pixel_archives["local"][0]).connect() as conn:
        exclusive = set(
            conn.execute(
                select(products.c.filename).where(
                    products.c.proposal_id == EXCLUSIVE, products.c.suffix == "x1d"
                )
            ).scalars()
        )
    assert exclusive, "the mock archive has no exclusive x1d spectra"
    query = "wavelength=0.6,5.3&limit=100000"
    stranger = _same(_ask(clients, pixel_archives, query, "stranger"))
    pi = _same(_ask(clients, pixel_archives, query, "pi"))
    assert not exclusive & {r["fileName"] for r in stranger["results"]}
    assert exclusive <= {r["fileName"] for r in pi["results"]}
    assert pi["paging"]["total"] > stranger["paging"]["total"]
    mine = f"program={EXCLUSIVE}&wavelength=0.6,5.3&limit=100"
    assert _same(_ask(clients, pixel_archives, mine, "stranger"))["paging"]["total"] == 0
    assert _same(_ask(clients, pixel_archives, mine, "pi"))["paging"]["total"] > 0


def test_a_dask_cluster_reads_the_bucket(pixel_archives):
    from distributed import Client, LocalCluster

    from webbarchive.catalog.rights import ANONYMOUS
    from webbarchive.pixels.distributed import DaskScan
    from webbarchive.pixels.query import parse, search

    engines = {kind: open_catalog(url) for kind, (url, _) in pixel_archives.items()}
    text = "productType=s2d&wavelength=1,3&flux.gt=0"
    query = parse([tuple(kv.split("=", 1)) for kv in text.split("&")])
    with pixels_setting(None):
        truth = search(engines["local"], query, ANONYMOUS, 300, 10_000)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
        pixels_setting(PIXELS),
    ):
        scan = DaskScan(client, local_first_groups=0, local_count_groups=0)
        spread = search(engines["s3"], query, ANONYMOUS, 300, 10_000, scan)
    assert truth.total > 10_300
    assert spread.total == truth.total
    assert spread.results == truth.results


def test_a_store_that_does_not_answer_gives_503_then_recovers(clients, pixel_archives, moto_s3):
    query = "wavelength=1.2,1.3&derSnr.gt=5&limit=50"
    before = _ask(clients, pixel_archives, query)["s3"]
    moto_s3.stop()
    try:
        with pixels_setting(PIXELS):
            down = clients["s3"].get(f"{SEARCH}?{query}")
    finally:
        moto_s3.start()
    assert down.status_code == 503, down.text[:300]
    assert down.headers["retry-after"] and "storage is unreachable" in down.text
    after = _ask(clients, pixel_archives, query)["s3"]
    assert _undated(after.text) == _undated(before.text)


def _verify(url: str) -> tuple[int, str]:
    import io

    from webbarchive.cli import main

    out = io.StringIO()
    with pixels_setting(PIXELS), contextlib.redirect_stdout(out):
        code = main(["pixels", "verify", "--db", url])
    return code, out.getvalue()


def test_verify_finds_no_drift_then_a_deleted_object(pixel_archives):
    url = pixel_archives["s3"][0]
    code, report = _verify(url)
    assert code == 0, report
    with open_catalog(url).connect() as conn:
        segments = sorted(conn.execute(select(pixel_segments.c.segment)).scalars())
    assert f"{len(segments)} segments listed" in report
    assert f"{len(segments)} segment checksums match" in report
    with pixels_setting(PIXELS):
        root = pixels_root(open_catalog(url))
    bucket, prefix = root.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3")
    victim = f"{prefix}/{segments[0]}"
    aside = f"aside/{segments[0]}"
    s3.copy_object(Bucket=bucket, Key=aside, CopySource={"Bucket": bucket, "Key": victim})
    s3.delete_object(Bucket=bucket, Key=victim)
    try:
        code, report = _verify(url)
        assert code == 1
        assert f"  missing {segments[0]}" in report.splitlines()
    finally:  # the store whole again for the other tests
        s3.copy_object(Bucket=bucket, Key=victim, CopySource={"Bucket": bucket, "Key": aside})
    assert _verify(url)[0] == 0


def _objects(root: str) -> set[str]:
    """Names (relative to ``root``) of the objects under a store's root in the bucket."""
    bucket, prefix = root.removeprefix("s3://").split("/", 1)
    pages = (
        boto3.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=prefix + "/")
    )
    return {item["Key"][len(prefix) + 1 :] for page in pages for item in page.get("Contents", [])}


def test_append_compact_retire_delete_in_the_bucket(moto_s3, catalog_url, tmp_path, monkeypatch):
    """The growth cycle of tests/pixels/test_growth.py with the store in the bucket,
    on both backends: appends write new objects, compaction merges them and
    retires the old ones (kept until purged), a deleted product's pixels are
    rewritten away; every search equals brute-force numpy throughout."""
    from tests.pixels import synthetic
    from tests.pixels.test_growth import _assert_searches_equal_truth, _listed
    from webbarchive.pixels import index as index_module
    from webbarchive.pixels import store as store_module
    from webbarchive.pixels.index import compact_store, purge_retired
    from webbarchive.pixels.index import update as update_pixels
    from webbarchive.pixels.store import PixelStore
    from webbarchive.pixels.verify import verify

    monkeypatch.setattr(store_module, "SEGMENT_ROWS", 3_000)
    monkeypatch.setattr(store_module, "BUFFER_BYTES", 3_000 * 32)
    monkeypatch.setattr(index_module, "MAX_SMALL_SEGMENTS", 10_000)
    monkeypatch.setenv("WEBBARCHIVE_PIXELS", f"{PIXELS}/growth")
    engine = open_catalog(catalog_url)
    root = pixels_root(engine)
    assert isinstance(root, str) and root.startswith(f"{PIXELS}/growth/")
    items = synthetic.make_products(tmp_path, seed=5, n_x1d=12)
    synthetic.catalog(engine, items[::2])
    update_pixels(engine, progress=False)
    first = _listed(engine)
    synthetic.catalog(engine, items[1::2])
    update_pixels(engine, progress=False)
    assert first < _listed(engine) and _objects(root) == _listed(engine)
    _assert_searches_equal_truth(engine, items)

    listed = _listed(engine)
    assert compact_store(engine, grace_s=3600).merged >= 2
    retired = listed - _listed(engine)
    assert retired and _objects(root) == _listed(engine) | retired  # kept for readers
    _assert_searches_equal_truth(engine, items)
    assert verify(engine, deep=True).consistent  # retired objects are not orphans
    assert set(purge_retired(engine, PixelStore(root), grace_s=0)) == retired
    assert _objects(root) == _listed(engine)

    gone = next(i for i in items if i.suffix == "x1d" and i.release_mjd <= synthetic.PAST_MJD)
    with engine.begin() as conn:
        conn.execute(products.delete().where(products.c.product_id == gone.product_id))
    items = [i for i in items if i is not gone]
    assert update_pixels(engine, progress=False).dropped == 1
    _assert_searches_equal_truth(engine, items)
    report = verify(engine, deep=True)
    assert report.consistent, report.summary()
    assert report.checksummed == report.segments and not report.unchecked
    assert not report.orphans and report.retired == len(_objects(root) - _listed(engine))
