"""update(): idempotent, replaces changed products, drops vanished ones; both backends."""

from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import delete, select

from tests.pixels import synthetic
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import products
from webbarchive.pixels.index import update
from webbarchive.pixels.store import mode_name, partition, partition_of, pixels_root
from webbarchive.pixels.tables import pixel_retired, pixel_segments, spectral_characteristics


def _state(engine):
    with engine.connect() as conn:
        chars = conn.execute(
            select(spectral_characteristics).order_by(spectral_characteristics.c.product_id)
        ).all()
        segments = conn.execute(select(pixel_segments.c.segment)).scalars().all()
    return [tuple(r) for r in chars], sorted(segments)


def _pixels_of(engine, product_id):
    root = pixels_root(engine)
    _, segments = _state(engine)
    wave, flux = [], []
    for segment in segments:
        table = pq.read_table(root / segment)
        mine = table.column("product_id").to_numpy() == product_id
        wave.append(table.column("wavelength").to_numpy()[mine])
        flux.append(table.column("flux").to_numpy(zero_copy_only=False)[mine])
    return np.concatenate(wave), np.concatenate(flux)


def _partition(item) -> str:
    return partition(item.suffix, mode_name(item.instrument, item.grating, item.filter))


def _partitions(items) -> set[str]:
    return {_partition(i) for i in items}


@pytest.fixture
def archive(catalog_url, tmp_path):
    engine = open_catalog(catalog_url)
    items = synthetic.make_products(tmp_path, seed=11, n_x1d=8)
    synthetic.catalog(engine, items)
    return engine, items


def test_update_indexes_every_spectral_product(archive):
    engine, items = archive
    summary = update(engine, progress=False)
    assert summary.added == len(items) and not summary.failed
    chars, segments = _state(engine)
    assert len(chars) == len(items)
    # one segment per partition (product type and mode), each sorted by wavelength,
    # holding only spectra of its own product type and mode
    assert sorted(partition_of(s) for s in segments) == sorted(_partitions(items))
    for segment in segments:
        table = pq.read_table(pixels_root(engine) / segment)
        assert np.all(np.diff(table.column("wavelength").to_numpy()) >= 0)
        ids = set(table.column("product_id").to_numpy().tolist())
        assert {_partition(i) for i in items if i.product_id in ids} == {partition_of(segment)}
    with engine.connect() as conn:
        by_id = {r.product_id: r for r in conn.execute(select(spectral_characteristics))}
    for item in items:
        row = by_id[item.product_id]
        assert row.npix == item.wavelength.size
        expected = item.der_snr
        assert (row.derSnr is None) == (expected is None)
        if expected is not None:
            assert row.derSnr == pytest.approx(expected, rel=1e-12)
        assert row.wavelength_min == pytest.approx(np.min(item.wavelength))
        assert row.flux_max == pytest.approx(np.nanmax(item.flux))
        wave, _ = _pixels_of(engine, item.product_id)
        np.testing.assert_array_equal(np.sort(wave), np.sort(item.wavelength))


def test_second_update_changes_nothing(archive):
    engine, _ = archive
    update(engine, progress=False)
    before = _state(engine)
    files = sorted(p.name for p in pixels_root(engine).rglob("*.parquet"))
    summary = update(engine, progress=False)
    assert summary.added == summary.replaced == summary.dropped == 0
    assert _state(engine) == before
    assert sorted(p.name for p in pixels_root(engine).rglob("*.parquet")) == files


def test_changed_product_is_replaced_and_vanished_one_dropped(archive):
    engine, items = archive
    update(engine, progress=False)
    changed, gone = items[0], items[1]
    synthetic.rewrite(engine, changed, changed.flux * 0 + 1234.5)
    with engine.begin() as conn:
        conn.execute(delete(products).where(products.c.product_id == gone.product_id))
    summary = update(engine, progress=False)
    assert (summary.replaced, summary.dropped, summary.added) == (1, 1, 0)
    wave, flux = _pixels_of(engine, changed.product_id)
    assert wave.size == changed.wavelength.size
    assert set(flux[np.isfinite(flux)]) == {1234.5}
    assert _pixels_of(engine, gone.product_id)[0].size == 0
    # the other products keep all their pixels
    for item in items[2:]:
        assert _pixels_of(engine, item.product_id)[0].size == item.wavelength.size
    chars, segments = _state(engine)
    assert gone.product_id not in {c[0] for c in chars}
    # on disk: the listed segments, and the rewritten ones waiting out their grace period
    with engine.connect() as conn:
        retired = conn.execute(select(pixel_retired.c.segment)).scalars().all()
    assert retired and not set(retired) & set(segments)
    assert sorted(
        p.relative_to(pixels_root(engine)).as_posix()
        for p in pixels_root(engine).rglob("*.parquet")
    ) == sorted(segments + retired)


def test_small_segments_are_merged_and_nothing_is_lost(archive, monkeypatch):
    """Incremental ingests leave small segments; update() merges them."""
    from webbarchive.pixels import index, store

    engine, items = archive
    monkeypatch.setattr(store, "SEGMENT_ROWS", 1_000)  # a segment every spectrum or two
    with monkeypatch.context() as later:
        later.setattr(index, "compact", lambda engine, store, **kw: 0)  # no merge yet
        update(engine, progress=False)
    chars_before, many = _state(engine)
    per_partition = Counter(partition_of(s) for s in many)
    assert len(many) > len(per_partition)  # some partitions have several segments
    monkeypatch.setattr(store, "SEGMENT_ROWS", 8_000_000)
    monkeypatch.setattr(index, "MAX_SMALL_SEGMENTS", 2)
    expected = sum(n for n in per_partition.values() if n > 1)
    assert index.compact(engine, store.PixelStore(pixels_root(engine))) == expected
    chars, merged = _state(engine)
    assert sorted(partition_of(s) for s in merged) == sorted(per_partition)  # one each
    assert {c[0] for c in chars} == {c[0] for c in chars_before}
    assert {c[-1] for c in chars} == set(merged)  # every spectrum points at a live segment
    for item in items:
        assert _pixels_of(engine, item.product_id)[0].size == item.wavelength.size
