"""Bad files, changed files, moved files: the catalog is never half-written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import func, select

from tests.ingest.jwst_files import write_cal
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import keywords, observations, products, sky_index
from webbarchive.cli import EXIT_SKIPPED, main
from webbarchive.ingest import runner, writer
from webbarchive.ingest.headers import decode
from webbarchive.ingest.runner import ingest_paths

X1D = "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
S2D = "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_s2d.fits"


def _counts(url: str) -> dict[str, int]:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (observations, products, keywords, sky_index)
        }


def _keyword(url: str, filename: str, name: str):
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        value = conn.execute(
            select(keywords.c.value)
            .join(products, products.c.product_id == keywords.c.product_id)
            .where(products.c.filename == filename, keywords.c.name == name)
        ).scalar()
    return decode(value)


def test_truncated_and_garbage_copies_are_skipped_and_exit_3(catalog_url, real_dir, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(real_dir / X1D, good)
    assert main(["ingest", str(good), "--db", catalog_url, "--quiet"]) == 0
    before = _counts(catalog_url)

    bad = tmp_path / "bad"
    bad.mkdir()
    data = (real_dir / S2D).read_bytes()
    (bad / Path(S2D).name).write_bytes(data[: len(data) // 2])
    (bad / "jw02736-o007_s06355_nirspec_f290lp-g395m_c1d.fits").write_bytes(os.urandom(20000))
    (bad / "notes.csv").write_text("a,b\n1,2\n")
    report = ingest_paths([str(good), str(bad)], db_url=catalog_url, workers=2, progress=False)
    reasons = dict(report.skipped)
    assert reasons[str(bad / Path(S2D).name)].startswith("truncated: ")
    assert (
        "not a valid FITS file"
        in reasons[str(bad / "jw02736-o007_s06355_nirspec_f290lp-g395m_c1d.fits")]
    )
    assert report.ignored == [str(bad / "notes.csv")]
    assert report.unchanged == [str(good / Path(X1D).name)]
    assert "skipped 2" in report.summary()
    assert _counts(catalog_url) == before  # earlier rows survive, nothing half-written
    assert main(["ingest", str(good), str(bad), "--db", catalog_url, "--quiet"]) == EXIT_SKIPPED


def test_a_catalogued_file_truncated_later_keeps_its_rows(catalog_url, real_dir, tmp_path):
    path = tmp_path / Path(S2D).name
    shutil.copy(real_dir / S2D, path)
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    before = _counts(catalog_url)
    path.write_bytes(path.read_bytes()[:100_000])
    report = ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    assert report.skipped and report.skipped[0][1].startswith("truncated")
    assert _counts(catalog_url) == before


def test_changed_file_replaces_its_rows(catalog_url, tmp_path):
    path = write_cal(tmp_path, effexptm=300.0)
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    engine = open_catalog(catalog_url, create=False)
    with engine.connect() as conn:
        first = conn.execute(select(products)).mappings().one()
    before = _counts(catalog_url)

    write_cal(tmp_path, effexptm=900.0, extra={"NEWKEY": "added"})
    os.utime(path, (1e9, 1e9))  # a different mtime, as an edit would leave
    report = ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    assert report.replaced == [str(path)]
    with engine.connect() as conn:
        row = conn.execute(select(products)).mappings().one()
        obs = conn.execute(select(observations)).mappings().one()
    assert row["product_id"] == first["product_id"]  # replaced in place
    assert row["checksum"] != first["checksum"]
    assert obs["t_exptime"] == 900.0
    assert _keyword(catalog_url, path.name, "effexptm") == 900.0
    assert _keyword(catalog_url, path.name, "newkey") == "added"
    after = _counts(catalog_url)
    assert after["keywords"] == before["keywords"] + 1
    assert {k: v for k, v in after.items() if k != "keywords"} == {
        k: v for k, v in before.items() if k != "keywords"
    }


def test_replacement_is_one_transaction(catalog_url, tmp_path, monkeypatch):
    path = write_cal(tmp_path, effexptm=300.0)
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    before = _counts(catalog_url)
    write_cal(tmp_path, effexptm=900.0)
    os.utime(path, (1e9, 1e9))

    def fail(*args, **kwargs):  # after the keywords were deleted and rewritten
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "recompute_observation", fail)
    report = ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    assert "could not be written: RuntimeError: disk full" in report.skipped[0][1]
    assert _counts(catalog_url) == before
    assert _keyword(catalog_url, path.name, "effexptm") == 300.0


def test_same_name_at_another_path(catalog_url, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    original = write_cal(first)
    shutil.copy(original, second)
    report = ingest_paths([str(first), str(second)], db_url=catalog_url, workers=1, progress=False)
    assert report.ingested == [str(original)]
    assert report.unchanged == [str(second / original.name)]  # same bytes: first copy stays
    write_cal(second, effexptm=42.0)  # different bytes under the same name
    report = ingest_paths([str(second)], db_url=catalog_url, workers=1, progress=False)
    assert report.replaced == [str(second / original.name)]
    engine = open_catalog(catalog_url, create=False)
    with engine.connect() as conn:
        rows = conn.execute(select(products.c.path, products.c.size)).all()
    assert rows == [(str(second / original.name), (second / original.name).stat().st_size)]


def test_unchanged_file_is_not_reopened(catalog_url, tmp_path, monkeypatch):
    write_cal(tmp_path)
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)

    def boom(path):
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(runner, "read_product", boom)
    report = ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    assert len(report.unchanged) == 1


@pytest.mark.parametrize(
    "s_region, source",
    [
        ("wcs", "s_region"),
        (None, "wcs"),
        ("POLYGON ICRS 10 10 200 10 200 80 10 80", "wcs"),  # absurd: ~60% of a hemisphere
        ("POLYGON ICRS 150.1 2.2 150.1 2.2 150.1 2.2", "wcs"),  # degenerate
        ("CIRCLE ICRS 150.1 2.2 0.01", "wcs"),
    ],
)
def test_footprint_fallbacks(catalog_url, tmp_path, s_region, source):
    write_cal(tmp_path, s_region=s_region)
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    engine = open_catalog(catalog_url, create=False)
    with engine.connect() as conn:
        obs = conn.execute(select(observations)).mappings().one()
        cells = conn.execute(select(func.count()).select_from(sky_index)).scalar()
    assert obs["footprint_source"] == source
    assert cells >= 1


def test_target_box_when_nothing_else(catalog_url, tmp_path):
    path = write_cal(tmp_path, s_region=None)
    with fits.open(path, mode="update") as hdul:
        for key in ("CTYPE1", "CTYPE2"):
            del hdul["SCI"].header[key]
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    engine = open_catalog(catalog_url, create=False)
    with engine.connect() as conn:
        obs = conn.execute(select(observations)).mappings().one()
    assert obs["footprint_source"] == "target"


def test_pixel_hook_is_called(catalog_url, tmp_path, monkeypatch):
    """ingest_paths hands the engine to webbarchive.pixels.index.update when present."""
    import sys
    import types

    calls = []
    fake = types.ModuleType("webbarchive.pixels.index")
    fake.update = lambda engine, progress: calls.append(progress)
    monkeypatch.setitem(sys.modules, "webbarchive.pixels.index", fake)
    write_cal(tmp_path)
    ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    assert calls == [False]
