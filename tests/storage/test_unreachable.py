"""The object store stops answering: reads and downloads answer 503 with
Retry-After (JSON on MAST/DJA routes), never a 500, and answer again without
a restart when the store is back. Ingest against an unreachable store says why
and exits non-zero with no product row written."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from tests.live_server import free_port
from tests.storage.conftest import ROOT
from webbarchive.catalog.db import create_schema, open_catalog
from webbarchive.catalog.schema import products


def _requests(storage_archives) -> list[tuple[str, dict]]:
    with open_catalog(storage_archives["s3"]).connect() as conn:
        rows = conn.execute(select(products.c.filename, products.c.suffix)).all()
    x1d = sorted(r.filename for r in rows if r.suffix == "x1d")[0]
    mosaic = sorted(r.filename for r in rows if r.filename.endswith("_drc_sci.fits"))[0]
    return [
        ("/api/v0.1/Download/file", {"uri": f"mast:JWST/product/{x1d}"}),
        ("/api/v0.1/Download/file", {"uri": x1d, "_range": "bytes=10-20"}),
        ("/spectra/api/v0.1/retrieve", {"uri": x1d}),
        ("/thumb", {"coords": "MOSAIC", "size": "4", "_mosaic": mosaic}),
    ]


def _get(client, path: str, params: dict, storage_archives):
    params = dict(params)
    headers = {}
    if "_range" in params:
        headers["Range"] = params.pop("_range")
    if "_mosaic" in params:
        from astropy.io import fits
        from astropy.wcs import WCS

        from webbarchive.storage import open_storage

        name = params.pop("_mosaic")
        path_in_bucket = f"{ROOT}/{name}"
        header = fits.getheader(open_storage(path_in_bucket).readable_path(path_in_bucket))
        ra, dec = WCS(header, naxis=2).pixel_to_world_values(
            header["NAXIS1"] / 2, header["NAXIS2"] / 2
        )
        params["coords"] = f"{float(ra)},{float(dec)}"
    return client.get(path, params=params, headers=headers)


def test_503_while_the_store_is_down_then_recovery(moto_s3, storage_clients, storage_archives):
    client = storage_clients["s3"]
    requests = _requests(storage_archives)
    # warm: every route answers, and retrieve and /thumb hold a cached local copy
    prepared = []
    for path, params in requests:
        if "_mosaic" in params:  # resolve the position while the store answers
            answer = _get(client, path, params, storage_archives)
            params = {k: v for k, v in params.items() if k != "_mosaic"}
            params["coords"] = answer.request.url.params["coords"]
        else:
            answer = _get(client, path, params, storage_archives)
        assert answer.status_code in (200, 206), (path, answer.text[:200])
        prepared.append((path, params, answer.content))
    moto_s3.stop()
    try:
        for path, params, _ in prepared:
            answer = _get(client, path, params, storage_archives)
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:300])
            assert int(answer.headers["retry-after"]) >= 1
            body = answer.json()
            assert body["status"] == "ERROR" and body["error"] == 503
            assert "storage is unreachable" in body["message"]
    finally:
        moto_s3.start()
    for path, params, before in prepared:  # the same app, no restart
        answer = _get(client, path, params, storage_archives)
        assert answer.status_code in (200, 206), (path, answer.text[:200])
        assert answer.content == before


def test_ingest_with_the_store_unreachable_exits_non_zero_writing_nothing(
    moto_s3, tmp_path, monkeypatch, capsys, storage_mock_dir
):
    from webbarchive.cli import EXIT_STORAGE, main

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.delenv("WEBBARCHIVE_STORAGE", raising=False)
    db = str(tmp_path / "catalog.db")
    create_schema(open_catalog(db))
    for argv in (
        ["ingest", ROOT, "--db", db, "--quiet", "--workers", "1"],
        ["ingest", str(storage_mock_dir), "--storage", ROOT, "--db", db, "--quiet"],
    ):
        assert main(argv) == EXIT_STORAGE
        err = capsys.readouterr().err
        assert "unreachable" in err and "run the same command again" in err
        with open_catalog(db).connect() as conn:
            assert conn.execute(select(func.count()).select_from(products)).scalar() == 0
    # --storage reached the reader processes through the environment, for this
    # call only: later ingests in this process (and their subprocesses) store
    # locally again (it once stayed set, and a later test's ingest went to S3)
    assert "WEBBARCHIVE_STORAGE" not in os.environ


@pytest.mark.parametrize("path", ["/api/v0.1/Download/file", "/spectra/api/v0.1/retrieve"])
def test_missing_object_is_a_404_not_a_503(storage_clients, storage_archives, path):
    from sqlalchemy import update

    engine = open_catalog(storage_archives["s3"])
    with engine.connect() as conn:
        row = conn.execute(
            select(products.c.product_id, products.c.filename, products.c.path).where(
                products.c.suffix == "x1d"
            )
        ).first()
    with engine.begin() as conn:
        conn.execute(
            update(products)
            .where(products.c.product_id == row.product_id)
            .values(path=row.path + ".gone")
        )
    try:
        answer = storage_clients["s3"].get(path, params={"uri": row.filename})
        assert answer.status_code == 404, answer.text[:300]
        assert "missing from storage" in answer.json()["message"]
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(products)
                .where(products.c.product_id == row.product_id)
                .values(path=row.path)
            )
