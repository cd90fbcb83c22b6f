"""Pixel search on a Dask distributed cluster: scatter the scan, gather and merge.

The search plans as in one process (:mod:`webbarchive.pixels.query`: the
catalog's candidates, the segments that may hold them, the plan per request);
only the pixel reads move. :class:`DaskScan` deals the planned segments out to
the workers (round robin in store order, each worker one task per read), each
worker runs the existing scan (:mod:`webbarchive.pixels.scan` row groups, or
DuckDB) over its share, and this process merges:

- **pages**: each share returns its first ``offset + limit`` matching rows,
  tagged with (segment rank, row rank); a k-way merge (:func:`heapq.merge`) of
  these sorted partial pages, stopped at the page size, gives the rows of the
  single-process answer in its order (segment order, then wavelength order
  inside a segment). Deep pages count the matches per segment first, then
  fetch only the segments that overlap the page;
- **totals**: each share counts matching pixels per spectrum; the catalog's
  candidate mask (rights, filters) is applied here, so the total is exact.

Workers must see the segments at the same paths: a shared filesystem, or
the same object storage (``s3://`` locations, which each worker opens with
its own S3 filesystem from its own AWS environment). The cluster is named by
``WEBBARCHIVE_DASK`` (:func:`connect`): ``''`` (the search stays in-process),
``local:N`` (this process starts a ``LocalCluster`` of N one-thread worker
processes) or ``tcp://host:port`` (a running scheduler).
"""

from __future__ import annotations

import heapq
import threading
import time
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

from webbarchive.pixels.query import (
    LocalScan,
    Prepared,
    _pixel_where,
    candidate_total,
    pixel_counts,
    planned_counts,
    run_restricted,
)
from webbarchive.pixels.scan import first_rows, first_rows_within, plan
from webbarchive.pixels.segment_files import duckdb_source
from webbarchive.pixels.spectra import SpectraView
from webbarchive.pixels.store import segment_paths
from webbarchive.pixels.syntax import Predicate

if TYPE_CHECKING:  # distributed is imported when a cluster is first used
    from distributed import Client

#: ``local:N`` takes at most this many workers.
MAX_LOCAL_WORKERS = 64

#: A first page is first read in this process from at most this many row groups
#: (8,192 pixels each, 0.05-0.3 ms apiece on the 2-core box: 256 groups are
#: 2 million pixels, 13-75 ms); only when they do not fill the page does the scan
#: go to the cluster. A Dask round trip costs 12 ms or more here (a no-op
#: ``client.submit(...).result()``, p50 on the loaded box), and a page that the
#: first groups fill is found in a few of them. A count of groups, not a time
#: budget: under load a time budget sent every page to the cluster after
#: reading locally (measured, 10^7 pixels, load 14). Pages sparser than this
#: profit from the cluster's parallel scan.
LOCAL_FIRST_GROUPS = 256

#: A count whose zone maps leave at most this many row groups runs in this
#: process (the footers are cached here too), for the same reason: ~0.1 ms a
#: group, 128 groups cost about one round trip.
LOCAL_COUNT_GROUPS = 128

#: Seconds the worker list is reused before the scheduler is asked again.
WORKERS_TTL_S = 5.0

Share = list[tuple[int, str]]  # (segment rank in store order, path or s3:// location)


# --- on the workers ------------------------------------------------------------------


def share_first_rows(
    share: Share,
    predicates: list[Predicate],
    output: list[str],
    wanted: int,
    ids: np.ndarray | None,
    exclude: bool,
) -> tuple[list[tuple], bool]:
    """The first ``wanted`` matching rows of a share, each as (segment rank, row
    rank in its segment, row), and whether the share has no more."""
    tagged: list[tuple] = []
    for rank, path in share:
        rows, _ = first_rows(
            [path], predicates, output, wanted - len(tagged), ids=ids, exclude=exclude
        )
        tagged.extend((rank, i, row) for i, row in enumerate(rows))
        if len(tagged) >= wanted:
            return tagged, False
    return tagged, True


def share_counts(share: Share, predicates: list[Predicate]) -> tuple[np.ndarray, np.ndarray]:
    """(product_id, matching pixels) per spectrum over a share's segments."""
    return pixel_counts([path for _, path in share], predicates)


def _restricted_where(
    predicates: list[Predicate], restriction: str | None
) -> tuple[str, list[float]]:
    extra = [f"product_id {restriction} (SELECT product_id FROM candidates)"] if restriction else []
    return _pixel_where(predicates, extra)


def share_segment_matches(
    share: Share, predicates: list[Predicate], restriction: str | None, ids: np.ndarray
) -> list[tuple[int, int]]:
    """(segment rank, matching rows under the restriction) of each segment of a share."""
    where, values = _restricted_where(predicates, restriction)
    found = []
    for rank, path in share:
        source, tables = duckdb_source([path])
        sql = f"SELECT count(*) FROM {source} WHERE {where}"
        matches = run_restricted(sql, values, "count", restriction, ids, tables)[0][0]
        found.append((rank, int(matches)))
    return found


def segment_rows(
    path: str,
    predicates: list[Predicate],
    output: list[str],
    restriction: str | None,
    ids: np.ndarray,
    limit: int,
    offset: int,
) -> list[tuple]:
    """Matching rows [offset, offset + limit) of one segment, in its order."""
    where, values = _restricted_where(predicates, restriction)
    source, tables = duckdb_source([path])
    sql = f"SELECT {', '.join(output)} FROM {source} WHERE {where} LIMIT ? OFFSET ?"
    return run_restricted(sql, [*values, limit, offset], "page", restriction, ids, tables)


# --- in the server -------------------------------------------------------------------


class DaskScan(LocalScan):
    """The pixel reads of a search, on the workers of ``client``'s cluster.

    Small reads stay in this process (``local_first_groups``,
    ``local_count_groups``; 0 sends everything to the cluster): a first page
    that the first row groups fill, a count over few row groups. The answer is
    the same either way (the same scan code, the same store order)."""

    def __init__(
        self,
        client: Client,
        *,
        local_first_groups: int | None = None,
        local_count_groups: int | None = None,
    ):
        self.client = client
        self.local_first_groups = (
            LOCAL_FIRST_GROUPS if local_first_groups is None else local_first_groups
        )
        self.local_count_groups = (
            LOCAL_COUNT_GROUPS if local_count_groups is None else local_count_groups
        )
        self._known_workers: tuple[float, list[str]] = (0.0, [])

    def _workers(self) -> list[str]:
        # nthreads() asks the scheduler (a round trip: cached a few seconds);
        # scheduler_info() returns a cache that the client's periodic refresh may
        # truncate to no workers
        asked, workers = self._known_workers
        if workers and time.monotonic() - asked < WORKERS_TTL_S:
            return workers
        workers = sorted(self.client.nthreads())
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        self._known_workers = (time.monotonic(), workers)
        return workers

    def _deal(self, paths: list[str]) -> list[tuple[str, Share]]:
        """The segments dealt round robin to the workers: (worker, share) of those with any."""
        workers = self._workers()
        shares: list[Share] = [[] for _ in workers]
        for rank, path in enumerate(paths):
            shares[rank % len(workers)].append((rank, path))
        return [(w, s) for w, s in zip(workers, shares, strict=True) if s]

    def _run(self, function, dealt: list[tuple[str, Share]], *args) -> list:
        futures = [
            self.client.submit(
                function, share, *args, workers=[worker], allow_other_workers=True, pure=False
            )
            for worker, share in dealt
        ]
        return self.client.gather(futures)

    def first_rows(
        self,
        paths: list[str],
        predicates: list[Predicate],
        output: list[str],
        wanted: int,
        *,
        ids: np.ndarray | None = None,
        exclude: bool = False,
    ) -> tuple[list[tuple], bool]:
        if not paths:
            return [], True
        if self.local_first_groups:
            rows, exhausted, final = first_rows_within(
                paths,
                predicates,
                output,
                wanted,
                ids=ids,
                exclude=exclude,
                max_groups=self.local_first_groups,
            )
            if final:
                return rows, exhausted
        parts = self._run(
            share_first_rows, self._deal(paths), predicates, output, wanted, ids, exclude
        )
        merged = list(
            islice(heapq.merge(*(rows for rows, _ in parts), key=lambda t: (t[0], t[1])), wanted)
        )
        # the whole store holds fewer than ``wanted`` rows only if every share ran out
        exhausted = all(done for _, done in parts) and len(merged) < wanted
        return [row for _, _, row in merged], exhausted

    def count(
        self,
        paths: list[str],
        predicates: list[Predicate],
        spectra: SpectraView,
        candidates: np.ndarray,
    ) -> int:
        if not paths:
            return 0
        if self.local_count_groups:
            planned = plan(paths, predicates)
            if sum(groups.size for _, groups in planned) <= self.local_count_groups:
                return candidate_total(*planned_counts(planned, predicates), spectra, candidates)
            paths = [path for path, _ in planned]
            if not paths:
                return 0
        parts = self._run(share_counts, self._deal(paths), predicates)
        ids = np.concatenate([np.asarray(i, np.int64) for i, _ in parts])
        counts = np.concatenate([np.asarray(c, np.int64) for _, c in parts])
        return candidate_total(ids, counts, spectra, candidates)

    def deep_rows(self, prepared: Prepared, limit: int, offset: int) -> list[tuple]:
        """Count the matches of every segment on the workers, then read the page
        from the segments that overlap [offset, offset + limit)."""
        paths = segment_paths(prepared.engine, prepared.files)
        predicates, restriction, ids = prepared.query.predicates, prepared.restriction, prepared.ids
        dealt = self._deal(paths)
        owner = {rank: worker for worker, share in dealt for rank, _ in share}
        matches = sorted(
            m
            for part in self._run(share_segment_matches, dealt, predicates, restriction, ids)
            for m in part
        )
        futures, start = [], 0
        for rank, n in matches:
            low, high = max(offset - start, 0), min(offset + limit - start, n)
            if low < high:
                futures.append(
                    self.client.submit(
                        segment_rows,
                        paths[rank],
                        predicates,
                        prepared.output,
                        restriction,
                        ids,
                        high - low,
                        low,
                        workers=[owner[rank]],
                        allow_other_workers=True,
                        pure=False,
                    )
                )
            start += n
            if start >= offset + limit:
                break
        return [row for part in self.client.gather(futures) for row in part]


def parse_spec(spec: str) -> tuple[str, int | str] | None:
    """``WEBBARCHIVE_DASK`` read: None (off), ("local", N) or ("address", url);
    ValueError says what is accepted."""
    spec = spec.strip()
    if not spec:
        return None
    if spec.startswith("local:"):
        n = spec.removeprefix("local:")
        if n.isdigit() and 1 <= int(n) <= MAX_LOCAL_WORKERS:
            return "local", int(n)
    elif spec.startswith(("tcp://", "tls://")) and len(spec) > len("tcp://"):
        return "address", spec
    raise ValueError(
        f"{spec!r}: expected '' (off), 'local:N' (N = 1..{MAX_LOCAL_WORKERS} workers) "
        "or a scheduler address 'tcp://host:port'"
    )


def connect(spec: str, *, processes: bool = True) -> Client | None:
    """A client of the cluster named by ``spec`` (see :func:`parse_spec`); None when off.
    ``local:N`` starts N one-thread workers (processes, or threads with
    ``processes=False``)."""
    parsed = parse_spec(spec)
    if parsed is None:
        return None
    from distributed import Client, LocalCluster

    kind, value = parsed
    if kind == "local":
        cluster = LocalCluster(
            n_workers=int(value),
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        )
        return Client(cluster)
    return Client(str(value))


class Cluster:
    """The server's cluster, connected on first use (``WEBBARCHIVE_DASK``): the
    spec is checked when the server starts, the cluster started when a search
    needs it."""

    def __init__(self, spec: str):
        self.spec = spec
        self.enabled = parse_spec(spec) is not None
        self._lock = threading.Lock()
        self._scan: DaskScan | None = None

    def scan(self) -> DaskScan | None:
        if not self.enabled:
            return None
        with self._lock:
            if self._scan is None:
                self._scan = DaskScan(connect(self.spec))
            return self._scan

    def close(self) -> None:
        with self._lock:
            if self._scan is not None:
                client = self._scan.client
                cluster = client.cluster
                client.close()
                if cluster is not None:
                    cluster.close()
                self._scan = None
