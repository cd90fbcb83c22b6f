"""The first rows of a search, read straight from the segments.

A first page needs a few thousand rows at most. Planning a DuckDB query over
every segment costs several milliseconds of per-row-group overhead before a
row is read; here the footers of the (immutable) segments are parsed once per
process, their row-group min/max statistics act as zone maps on every
searchable column, and only the row groups that may match are decoded, in
store order, until enough rows are found. Results are the rows DuckDB would
return in the same order (segment order, then row order); deep pages go to
DuckDB.

A path is a local file or a segment in object storage (``s3://``, see
:mod:`webbarchive.pixels.segment_files`): there each row group is fetched by
ranged GETs, its column chunks coalesced into few requests.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from webbarchive.pixels.segment_files import reader
from webbarchive.pixels.syntax import CONE, SCAN_COLUMNS, Predicate

_ZONE_COLUMNS = tuple(SCAN_COLUMNS.values())


@dataclass(frozen=True)
class SegmentFooter:
    metadata: pq.FileMetaData
    minimum: dict[str, np.ndarray]  # column -> per-row-group min (NaN: unknown)
    maximum: dict[str, np.ndarray]


@lru_cache(maxsize=256)
def _open(path: str) -> pq.ParquetFile:
    """An open segment (kept open: opening costs more than a small read).

    No pre-buffering and (in :func:`_read`) no threads: a row group of 8,192
    rows decodes in under 0.1 ms on one thread, and the thread pool and
    coalesced pre-reads cost more than that (3.1 ms per 16,384-row group
    measured with them, 0.5-0.7 ms without, on the 2-core box at 10^7 pixels).
    In object storage a request costs far more than decoding: pre-buffering
    fetches a row group's columns in one or two ranged GETs instead of one each."""
    filesystem, where = reader(path)
    metadata = footer(path).metadata
    if filesystem is None:
        return pq.ParquetFile(where, metadata=metadata, memory_map=True, pre_buffer=False)
    return pq.ParquetFile(where, metadata=metadata, filesystem=filesystem, pre_buffer=True)


def _read(segment: pq.ParquetFile, group: int, columns: list[str]) -> pa.Table:
    return segment.read_row_group(group, columns=columns, use_threads=False)


@lru_cache(maxsize=8192)
def footer(path: str) -> SegmentFooter:
    """Row-group statistics of a segment (files are never modified, only replaced
    under a new name, so the cache cannot go stale)."""
    filesystem, where = reader(path)
    metadata = pq.read_metadata(where, filesystem=filesystem)
    names = metadata.schema.names
    minimum, maximum = {}, {}
    for column in _ZONE_COLUMNS:
        if column not in names:  # a segment written before the column existed
            minimum[column] = maximum[column] = np.full(metadata.num_row_groups, np.nan)
            continue
        k = names.index(column)
        lows, highs = [], []
        for g in range(metadata.num_row_groups):
            stats = metadata.row_group(g).column(k).statistics
            known = stats is not None and stats.has_min_max
            lows.append(stats.min if known else np.nan)
            highs.append(stats.max if known else np.nan)
        minimum[column] = np.asarray(lows, np.float64)
        maximum[column] = np.asarray(highs, np.float64)
    return SegmentFooter(metadata, minimum, maximum)


def has_columns(path: str, predicates: list[Predicate]) -> bool:
    """Whether the segment at ``path`` holds every column ``predicates`` read. One
    written before the ``ra``/``dec`` columns existed does not: they are null for
    all its pixels, so none of them passes a predicate on them (as in SQL), and
    the segment need not be read (DuckDB could not bind the missing column)."""
    names = footer(path).metadata.schema.names
    return all(c in names for p in predicates for c in p.columns)


def _may_match(foot: SegmentFooter, predicates: list[Predicate]) -> np.ndarray:
    """Row groups whose [min, max] can satisfy every predicate (unknown stats: yes)."""
    keep = np.ones(foot.metadata.num_row_groups, bool)
    for p in predicates:
        if p.column == CONE:  # the ra/dec box beside it prunes
            continue
        column = SCAN_COLUMNS[p.column]
        low, high = foot.minimum[column], foot.maximum[column]
        with np.errstate(invalid="ignore"):
            if p.op in (">", ">="):
                test = ~(high < p.value) if p.op == ">=" else ~(high <= p.value)
            elif p.op in ("<", "<="):
                test = ~(low > p.value) if p.op == "<=" else ~(low >= p.value)
            elif p.op == "=":
                test = ~((high < p.value) | (low > p.value))
            else:
                test = ~((low == p.value) & (high == p.value))
        keep &= test
    return keep


def _window(wave: np.ndarray, predicates: list[Predicate]) -> tuple[int, int, list[Predicate]]:
    """Rows [start, stop) of a row group (sorted by wavelength, as every segment
    is) that pass its wavelength predicates, found by bisection, and the
    predicates left to test row by row."""
    start, stop = 0, wave.size
    rest = []
    for p in predicates:
        if p.column != "wavelength" or p.op == "<>":
            rest.append(p)
            continue
        if p.op in (">=", "="):
            start = max(start, int(np.searchsorted(wave, p.value, "left")))
        if p.op == ">":
            start = max(start, int(np.searchsorted(wave, p.value, "right")))
        if p.op in ("<=", "="):
            stop = min(stop, int(np.searchsorted(wave, p.value, "right")))
        if p.op == "<":
            stop = min(stop, int(np.searchsorted(wave, p.value, "left")))
    return start, max(start, stop), rest


def _matches(table: pa.Table, predicates: list[Predicate]) -> np.ndarray:
    """Indices of the rows of a row group that pass ``predicates``."""
    start, stop, rest = _window(table.column("wavelength").to_numpy(), predicates)
    return start + np.flatnonzero(_rows_pass(table, rest, start, stop))


def _rows_pass(table: pa.Table, predicates: list[Predicate], start: int, stop: int) -> np.ndarray:
    """Mask of rows [start, stop) of ``table`` passing ``predicates``."""
    mask = np.ones(stop - start, bool)
    for p in predicates:
        if p.column == CONE:
            ra, dec = (
                table.column(c).to_numpy(zero_copy_only=False)[start:stop].astype(np.float64)
                for c in ("ra", "dec")
            )
            mask &= p.cone_holds(ra, dec)
            continue
        values = table.column(SCAN_COLUMNS[p.column]).to_numpy(zero_copy_only=False)
        mask &= p.holds(values[start:stop].astype(np.float64, copy=False))
    return mask


def first_rows(
    paths: list[str],
    predicates: list[Predicate],
    output: list[str],
    wanted: int,
    *,
    ids: np.ndarray | None = None,
    exclude: bool = False,
) -> tuple[list[tuple], bool]:
    """Up to ``wanted`` matching rows (tuples of ``output``) in store order, and
    whether the scan reached the end. ``ids`` restricts to (or, with
    ``exclude``, away from) those product ids."""
    rows, exhausted, _ = first_rows_within(
        paths, predicates, output, wanted, ids=ids, exclude=exclude
    )
    return rows, exhausted


def first_rows_within(
    paths: list[str],
    predicates: list[Predicate],
    output: list[str],
    wanted: int,
    *,
    ids: np.ndarray | None = None,
    exclude: bool = False,
    max_groups: int | None = None,
    deadline: float | None = None,
) -> tuple[list[tuple], bool, bool]:
    """:func:`first_rows` reading at most ``max_groups`` row groups, and none
    after ``deadline`` (a :func:`time.perf_counter` value): (rows, exhausted,
    final), ``final`` False when the budget ran out before the page filled or
    the store ended (the rows are then a prefix of the answer)."""
    rows: list[tuple] = []
    read = 0
    needed = sorted(
        {c for p in predicates for c in p.columns} | {"product_id", "wavelength"} | set(output)
    )
    for path in paths:
        foot = footer(path)
        groups = np.flatnonzero(_may_match(foot, predicates))
        if not groups.size:
            continue
        segment = _open(path)
        for g in groups:
            if (max_groups is not None and read >= max_groups) or (
                deadline is not None and time.perf_counter() > deadline
            ):
                return rows, False, False
            read += 1
            table = _read(segment, int(g), needed)
            hits = _matches(table, predicates)
            if ids is not None and hits.size:
                inside = np.isin(table.column("product_id").to_numpy()[hits], ids)
                hits = hits[~inside if exclude else inside]
            if not hits.size:
                continue
            hits = hits[: wanted - len(rows)]
            picked = table.select(output).take(pa.array(hits))
            columns = [picked.column(name).to_pylist() for name in output]
            rows.extend(zip(*columns, strict=True))
            if len(rows) >= wanted:
                return rows, False, True
    return rows, True, True


def plan(paths: list[str], predicates: list[Predicate]) -> list[tuple[str, np.ndarray]]:
    """(path, row groups the zone maps cannot rule out) of each segment with any."""
    planned = []
    for path in paths:
        groups = np.flatnonzero(_may_match(footer(path), predicates))
        if groups.size:
            planned.append((path, groups))
    return planned


def matching_ids(planned: list[tuple[str, np.ndarray]], predicates: list[Predicate]) -> np.ndarray:
    """The product_id of every matching pixel in the ``planned`` row groups (one
    element per pixel): the count of a narrow window without a DuckDB plan."""
    needed = sorted({c for p in predicates for c in p.columns} | {"product_id", "wavelength"})
    found: list[np.ndarray] = []
    for path, groups in planned:
        segment = _open(path)
        for g in groups:
            table = _read(segment, int(g), needed)
            found.append(table.column("product_id").to_numpy()[_matches(table, predicates)])
    return np.concatenate(found).astype(np.int64) if found else np.empty(0, np.int64)


#: Row groups a count decodes in one call: about 1 M pixels, a few tens of MB
#: of columns, so a segment's window is read in a few calls (each call's fixed
#: cost is paid per batch, not per 8,192-row group) without holding it all.
COUNT_BATCH_GROUPS = 128

_count_pool: ThreadPoolExecutor | None = None
_count_pool_lock = threading.Lock()


def _counting_threads() -> ThreadPoolExecutor:
    """The process's threads for count batches, one per core: decoding and
    numpy's comparisons release the GIL, so batches run side by side (a wide
    count at 10^8 pixels: 376 ms on one thread, 177 ms on two, 180 on three;
    bench.pixel_search). A count is a pixel scan, which the server runs one at
    a time per worker (``pixel_scans`` pool), as DuckDB used every core before."""
    global _count_pool
    with _count_pool_lock:
        if _count_pool is None:
            _count_pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix="pixel-count"
            )
        return _count_pool


def wavelengths_inside(
    low: np.ndarray, high: np.ndarray, predicates: list[Predicate]
) -> np.ndarray:
    """Where every wavelength in [low, high] passes the wavelength predicates:
    a comparison true at both ends holds across the range, and an excluded
    value must lie outside it. Unknown (NaN) bounds: no. Decides whole spectra
    (the count's catalog shortcut) and whole row groups (no wavelength read)."""
    inside = np.ones(np.shape(low), bool)
    with np.errstate(invalid="ignore"):
        for p in predicates:
            if p.column != "wavelength":
                continue
            if p.op == "<>":
                inside &= (high < p.value) | (low > p.value)
            else:
                inside &= p.compare(low) & p.compare(high)
    return inside


def _batch_counts(
    path: str, groups: np.ndarray, predicates: list[Predicate], columns: list[str]
) -> np.ndarray:
    """Matching pixels per product id (``bincount``) of ``groups``, consecutive
    in the wavelength-sorted segment (so their concatenation is sorted too)."""
    table = _open(path).read_row_groups(
        [int(g) for g in groups], columns=columns, use_threads=False
    )
    table = table.combine_chunks()
    ids = table.column("product_id").to_numpy()
    if "wavelength" not in columns:  # every pixel passes the wavelength predicates
        rest = [p for p in predicates if p.column != "wavelength"]
        return np.bincount(ids[_rows_pass(table, rest, 0, table.num_rows)])
    return np.bincount(ids[_matches(table, predicates)])


def matching_counts(
    planned: list[tuple[str, np.ndarray]], predicates: list[Predicate]
) -> tuple[np.ndarray, np.ndarray]:
    """(product_id, matching pixels) of every spectrum with a match in the
    ``planned`` row groups: a wide count without a query plan.

    The groups of a segment are decoded many at a time, the wavelength column
    only for the groups at the window's edges, batches run on one thread per
    core, the predicates are tested over whole columns, and the matches are
    counted per spectrum by ``bincount`` on the product ids (dense integers),
    never by sorting."""
    needed = sorted({c for p in predicates for c in p.columns} | {"product_id"})
    batches = []
    for path, groups in planned:
        foot = footer(path)
        inner = wavelengths_inside(
            foot.minimum["wavelength"][groups], foot.maximum["wavelength"][groups], predicates
        )
        for chosen, columns in (
            (groups[inner], [c for c in needed if c != "wavelength"]),
            (groups[~inner], sorted(set(needed) | {"wavelength"})),
        ):
            for start in range(0, chosen.size, COUNT_BATCH_GROUPS):
                batches.append((path, chosen[start : start + COUNT_BATCH_GROUPS], columns))
    pool = _counting_threads()
    counted = list(pool.map(lambda b: _batch_counts(b[0], b[1], predicates, b[2]), batches))
    total = np.zeros(max((c.size for c in counted), default=0), np.int64)
    for part in counted:
        total[: part.size] += part
    ids = np.flatnonzero(total)
    return ids.astype(np.int64), total[ids]
