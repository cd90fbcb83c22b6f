"""The segment writer's buffering: a bulk ingest of interleaved modes writes each
partition in whole segments (so compaction has nothing to rewrite), within a
memory budget, and loses or reorders no pixel."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from webbarchive.pixels.extract import from_arrays
from webbarchive.pixels.store import PixelStore, SegmentWriter, partition_of

MODES = ["nirspec-g140h-f100lp", "nirspec-prism-clear", "miri-p750l", "nirspec-g395m-f290lp"]


def _ingest(tmp_path, segment_rows: int, buffer_bytes: int, n_spectra: int = 200):
    """Spectra of 100-300 pixels, modes in random order, through a writer; returns
    the segments written (name, product ids, rows), the largest buffered bytes seen
    after an add, and the spectra given."""
    rng = np.random.default_rng(7)
    store = PixelStore(tmp_path / "pixels")
    written: list[tuple[str, list[int], int]] = []
    listed_ids: dict[str, list[int]] = {}

    def on_segment(info, pids, spectra) -> None:
        written.append((info.segment, list(pids), info.nrows))
        listed_ids[info.segment] = info.product_ids

    writer = SegmentWriter(
        store,
        on_segment,
        segment_rows=segment_rows,
        buffer_bytes=buffer_bytes,
    )
    given = {}
    peak = 0
    for pid in range(1, n_spectra + 1):
        n = int(rng.integers(100, 300))
        wave = np.sort(rng.uniform(0.6, 5.3, n))
        spectrum = from_arrays(wave, rng.normal(3, 1, n), np.full(n, 0.1))
        mode = MODES[rng.integers(len(MODES))]
        given[pid] = (mode, spectrum)
        writer.add("x1d", pid, spectrum, mode)
        peak = max(peak, sum(b.nbytes for b in writer.buffers.values()))
    writer.close()
    assert not writer.buffers and writer.nbytes == 0
    for segment, ids in listed_ids.items():  # the segment's product ids, as read back
        read = pq.read_table(store.path(segment), columns=["product_id"]).column(0).to_numpy()
        assert list(ids) == np.unique(read).tolist()
    return store, written, peak, given


def _check_nothing_lost(store, written, given) -> None:
    """Every pixel once, in its mode's partition, each segment sorted by wavelength."""
    seen = []
    for segment, pids, nrows in written:
        table = pq.read_table(store.path(segment))
        assert table.num_rows == nrows
        wave = table.column("wavelength").to_numpy()
        assert np.all(np.diff(wave) >= 0)
        ids = table.column("product_id").to_numpy()
        assert set(ids.tolist()) == set(pids)
        for pid in pids:
            mode, spectrum = given[pid]
            assert partition_of(segment) == f"productType=x1d/mode={mode}"
            np.testing.assert_array_equal(np.sort(wave[ids == pid]), np.sort(spectrum.wavelength))
        seen += pids
    assert sorted(seen) == sorted(given)


def test_interleaved_modes_fill_whole_segments(tmp_path):
    """With a budget above the partitions' needs, every segment but the last of each
    partition holds at least ``segment_rows`` pixels (the writer before the budget
    wrote the fullest partition whenever all buffers together reached
    ``segment_rows``, leaving segments of a fraction of that, for compaction to merge)."""
    segment_rows = 5_000
    store, written, _peak, given = _ingest(tmp_path, segment_rows, buffer_bytes=1 << 30)
    by_partition: dict[str, list[int]] = {}
    for segment, _pids, nrows in written:
        by_partition.setdefault(partition_of(segment), []).append(nrows)
    assert sorted(by_partition) == sorted(f"productType=x1d/mode={m}" for m in MODES)
    for sizes in by_partition.values():
        assert all(n >= segment_rows for n in sizes[:-1])  # only the leftover is short
        assert sizes[-1] <= segment_rows
    assert sum(len(s) for s in by_partition.values()) <= 40_000 // segment_rows + len(MODES)
    _check_nothing_lost(store, written, given)


def test_memory_budget_writes_the_fullest_partition_early(tmp_path):
    """A budget smaller than the partitions' buffers: the buffers never hold more
    than the budget after an add, and nothing is lost."""
    budget = 2_000 * 32  # about 2,000 pixels of x, wavelength, flux, error, dq
    store, written, peak, given = _ingest(tmp_path, segment_rows=5_000, buffer_bytes=budget)
    assert peak <= budget
    assert len(written) > len(MODES)  # partitions written in several pieces
    assert max(n for *_rest, n in written) < 5_000
    _check_nothing_lost(store, written, given)
    assert pa.concat_tables([pq.read_table(store.path(s)) for s, *_ in written]).num_rows == sum(
        s.npix for _m, s in given.values()
    )
