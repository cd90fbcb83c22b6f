"""One file per product name (issue 13, item 2), on both backends.

Truths: the file listing (which paths hold which name), hashlib (which content the
catalog holds), the DATE and CAL_VER that astropy reads in each file, and the
listing of the real files of ../shared against every name the mock writes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import select

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import keywords, observations, products, programs, sky_index
from webbarchive.ingest.runner import ingest_paths

X1D = "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"


def _variant(source: Path, target: Path, **cards) -> Path:
    """A copy of ``source`` with primary-header ``cards`` changed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with fits.open(source) as hdul:
        for key, value in cards.items():
            hdul[0].header[key] = value
        hdul.writeto(target)
    return target


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _product(url: str, name: str) -> dict:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        row = conn.execute(select(products).where(products.c.filename == name)).mappings().one()
    engine.dispose()
    return dict(row)


def _snapshot(url: str) -> dict:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        out = {
            t.name: [
                dict(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()
            ]
            for t in (programs, observations, products, keywords, sky_index)
        }
    engine.dispose()
    return out


def _ingest(paths: list[Path], url: str):
    return ingest_paths([str(p) for p in paths], db_url=url, workers=1, progress=False)


@pytest.fixture
def two_dates(real_dir, tmp_path) -> tuple[Path, Path]:
    """The same product name in two folders: an older and a newer pipeline output."""
    source = real_dir / X1D
    date = fits.getval(source, "DATE")
    older = _variant(source, tmp_path / "a" / source.name, DATE="2022-07-01T00:00:00.000")
    newer = _variant(source, tmp_path / "b" / source.name, DATE="2026-01-01T00:00:00.000")
    assert date < "2026" and _md5(older) != _md5(newer)
    return older, newer


@pytest.mark.parametrize("newer_first", [False, True])
def test_the_newest_date_wins_whatever_the_order(catalog_url, two_dates, newer_first):
    older, newer = two_dates
    order = [newer.parent, older.parent] if newer_first else [older.parent, newer.parent]
    first = _ingest(order, catalog_url)
    row = _product(catalog_url, newer.name)
    assert (row["path"], row["checksum"]) == (str(newer.resolve()), _md5(newer))
    (conflict,) = first.conflicts
    assert conflict.kept == str(newer.resolve())
    assert conflict.dropped == (str(older.resolve()),) and conflict.reason == "newest DATE"
    summary = first.summary()
    assert str(newer.resolve()) in summary and str(older.resolve()) in summary
    assert first.ingested == [str(newer.resolve())] and not first.replaced

    before = _snapshot(catalog_url)
    for _ in range(2):  # a re-run changes nothing (it said 'replaced 1' forever)
        again = _ingest(order, catalog_url)
        assert again.unchanged == [str(newer.resolve())]
        assert not again.ingested and not again.replaced and not again.skipped
        assert len(again.conflicts) == 1
        assert _snapshot(catalog_url) == before


def test_the_older_file_alone_does_not_replace_the_newer(catalog_url, two_dates):
    older, newer = two_dates
    _ingest([newer.parent], catalog_url)
    before = _snapshot(catalog_url)
    report = _ingest([older.parent], catalog_url)  # the newer one is still on disk
    assert not report.ingested and not report.replaced
    (conflict,) = report.conflicts
    assert (conflict.kept, conflict.dropped) == (str(newer.resolve()), (str(older.resolve()),))
    assert _snapshot(catalog_url) == before


def test_path_order_decides_between_equal_dates(catalog_url, real_dir, tmp_path):
    source = real_dir / X1D
    one = _variant(source, tmp_path / "one" / source.name, ORIGIN="first")
    two = _variant(source, tmp_path / "two" / source.name, ORIGIN="second")
    assert fits.getval(one, "DATE") == fits.getval(two, "DATE")
    assert fits.getval(one, "CAL_VER") == fits.getval(two, "CAL_VER")
    report = _ingest([two.parent, one.parent], catalog_url)
    assert _product(catalog_url, source.name)["checksum"] == _md5(two)
    assert report.conflicts[0].reason == "first in path order"
    again = _ingest([two.parent, one.parent], catalog_url)
    assert not again.replaced and again.unchanged == [str(two.resolve())]


def test_identical_copies_are_not_a_conflict(catalog_url, real_dir, tmp_path):
    source = real_dir / X1D
    for folder in ("p", "q"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / source.name).write_bytes(source.read_bytes())
    report = _ingest([tmp_path / "p", tmp_path / "q"], catalog_url)
    assert not report.conflicts and not report.skipped
    assert _product(catalog_url, source.name)["path"] == str(tmp_path / "p" / source.name)


def test_the_mock_writes_no_real_products_name(mock_dir, real_dir):
    from webbarchive.mock.msa import msa_name
    from webbarchive.mock.sky import plan

    real = {p.name for p in real_dir.rglob("*") if p.is_file()}
    written = {p.name for p in mock_dir.rglob("*") if p.is_file()}
    assert written and not written & real
    # the MSA files of every scale (the real MSA file is the name that collided)
    planned = {msa_name(o) for scale in ("small", "medium", "large") for o in plan(scale)}
    assert not planned & real


def test_mock_and_real_together_have_no_conflict(catalog_url, mock_dir, real_dir):
    report = _ingest([mock_dir, real_dir], catalog_url)
    assert report.conflicts == []
    again = _ingest([mock_dir, real_dir], catalog_url)
    assert not again.replaced and not again.ingested


def test_a_broken_namesake_is_skipped_not_chosen(catalog_url, real_dir, tmp_path):
    source = real_dir / X1D
    broken = tmp_path / "a" / source.name  # first in path order, but cut short
    broken.parent.mkdir()
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    good = tmp_path / "b" / source.name
    good.parent.mkdir()
    good.write_bytes(source.read_bytes())
    report = _ingest([broken.parent, good.parent], catalog_url)
    assert not report.conflicts
    assert dict(report.skipped)[str(broken)].startswith("truncated: ")
    assert _product(catalog_url, source.name)["checksum"] == _md5(source)
