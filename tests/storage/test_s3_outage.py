"""The object store goes away in the middle of an ingest from a bucket (moto
stopped after some files are read): ``webbarchive ingest`` says why and exits
69, the catalog holds whole files only (each product that is there is exactly
the product of an uninterrupted run, keywords and observation included), and
the same command run again once the store is back ends with the catalog of an
uninterrupted run. On both backends.

Truth: the catalog of the same files ingested without interruption
(``storage_archives["s3"]``), compared table by table with its generated ids
replaced by the names they stand for."""

from __future__ import annotations

import itertools
import os

from sqlalchemy import select

from tests.storage.conftest import ROOT
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import keywords, observations, products, programs, sky_index

_databases = itertools.count()
#: Columns that name the moment of the ingest, not the files.
VOLATILE = {"ingestStartDate_mjd", "ingestCompletionDate_mjd"}


def _snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of the catalog tables, ids replaced by obs_id and filename, sorted."""
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        obs = dict(conn.execute(select(observations.c.obsid, observations.c.obs_id)).all())
        names = dict(conn.execute(select(products.c.product_id, products.c.filename)).all())
        out = {}
        for table in (programs, observations, products, keywords, sky_index):
            rows = []
            for row in conn.execute(select(table)).mappings():
                values = []
                for column, value in row.items():
                    if column in VOLATILE:
                        continue
                    if column == "obsid":
                        value = obs.get(value, f"missing obsid {value}")
                    elif column == "product_id":
                        value = names.get(value, f"missing product {value}")
                    values.append((column, value))
                rows.append(tuple(values))
            out[table.name] = sorted(rows, key=repr)
    engine.dispose()
    return out


def _fresh_catalog(request, storage_archives, tmp_path) -> str:
    if "://" not in storage_archives["s3"]:
        return str(tmp_path / "interrupted.db")
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"outage{next(_databases)}_{os.getpid()}")


def test_an_outage_mid_ingest_leaves_whole_files_and_a_rerun_completes(
    request, moto_s3, storage_archives, tmp_path, monkeypatch, capsys
):
    import webbarchive.ingest.runner as runner
    from webbarchive.cli import EXIT_STORAGE, main

    reference = _snapshot(storage_archives["s3"])
    assert len(reference["products"]) > 20
    url = _fresh_catalog(request, storage_archives, tmp_path)
    read = runner.read_product
    calls = itertools.count(1)

    def read_then_fail(path: str):
        if next(calls) == 20:  # 16 files (one batch) are written by now
            moto_s3.stop()
        return read(path)

    monkeypatch.setattr(runner, "read_product", read_then_fail)
    try:
        code = main(["ingest", ROOT, "--db", url, "--quiet", "--workers", "1"])
    finally:
        if moto_s3.server is None:
            moto_s3.start()
    err = capsys.readouterr().err
    assert code == EXIT_STORAGE, err
    assert "unreachable" in err and "run the same command again" in err

    # Whole files only: every row there is the uninterrupted run's row.
    partial = _snapshot(url)
    assert 0 < len(partial["products"]) < len(reference["products"])
    for table in ("products", "keywords", "observations", "programs"):
        missing = set(partial[table]) - set(reference[table])
        assert not missing, (table, sorted(missing, key=repr)[:3])
    present = {dict(r)["filename"] for r in partial["products"]}
    for name in present:  # each product with all its keywords
        want = [r for r in reference["keywords"] if dict(r)["product_id"] == name]
        got = [r for r in partial["keywords"] if dict(r)["product_id"] == name]
        assert got == want, name

    monkeypatch.setattr(runner, "read_product", read)
    assert main(["ingest", ROOT, "--db", url, "--quiet", "--workers", "1"]) == 0
    assert _snapshot(url) == reference
