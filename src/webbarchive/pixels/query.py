"""Pixel search: plan and run a :class:`~webbarchive.pixels.syntax.PixelQuery`.

The catalog decides which spectra a user may see with the product filters
(instrument, grating, filter, exp_type, program, target, position) and holds
per-spectrum zone maps (derSnr, wavelength and flux min/max). Those facts are
read through :mod:`webbarchive.pixels.spectra`, the catalog's spectra held in
numpy arrays and reloaded whenever the catalog changes, with rights decided by
:func:`webbarchive.catalog.rights.visible_mask` (the rule of the SQL form). The
statement shown to the user is the equivalent SQL
(:mod:`webbarchive.pixels.candidates_sql`). The pixels live in
wavelength-sorted Parquet segments, partitioned by product type and instrument
mode, whose row-group statistics are zone maps too; only the segments holding
candidates are read. The planner picks, per request:

- **first pages, pixels first** (:func:`pixel_first_page`): with no selective
  filter, read the row groups that may match until the page is full, then ask
  the catalog about just the spectra those pixels come from;
- **pages, catalog first** (:class:`Prepared`): selective filters (program,
  target, position) or deep pages: the catalog lists the allowed (or the
  excluded) spectra, and the row groups (shallow) or DuckDB (deep) filter by them;
- **totals** (:func:`count`): spectra wholly inside a wavelength window (when
  the zone maps decide every predicate: wavelength, derSnr) count their stored
  pixels unread; the others are scanned once (row groups one by one,
  bisecting the sorted wavelengths, for narrow windows; in batches of row
  groups on every core, counted by numpy, for wide ones) and the matching
  pixels of the candidates are added up.

Results come segment by segment (in write order), each in wavelength order:
the order of the store, stable from one page to the next and the same on
every plan.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import Engine

from webbarchive.catalog.rights import User
from webbarchive.pixels import msaexp_source
from webbarchive.pixels.candidates_sql import shown_candidates
from webbarchive.pixels.scan import (
    first_rows,
    has_columns,
    matching_counts,
    matching_ids,
    plan,
    wavelengths_inside,
)
from webbarchive.pixels.segment_files import duckdb_source, unreachable, vanished
from webbarchive.pixels.spectra import SpectraView, view
from webbarchive.pixels.store import segment_paths
from webbarchive.pixels.syntax import (  # noqa: F401  (re-exported: the API's vocabulary)
    COLLECTIONS,
    CONE,
    OPERATORS,
    PIXEL_COLUMNS,
    PRODUCT_FILTERS,
    PRODUCT_TYPES,
    SCAN_COLUMNS,
    PixelQuery,
    Predicate,
    QueryError,
    accepted_parameters,
    parse,
)

# --- step 2: the pixels -------------------------------------------------------------

_duck_lock = threading.Lock()
_duck: dict[str, duckdb.DuckDBPyConnection] = {}


def _duckdb(purpose: str = "count") -> duckdb.DuckDBPyConnection:
    """A cursor on the process's DuckDB for ``purpose`` (in memory; it only reads Parquet).

    Pages run on a one-thread instance: a LIMIT query stops after a row group
    or two, and a second thread only adds scheduling on a busy machine (2 ms
    against 12-50 ms measured on the 2-core box). Counts (the semi-join count of
    :meth:`Prepared.total` and the cluster's per-segment counts) scan whole
    windows and use every core.
    """
    with _duck_lock:
        if purpose not in _duck:
            con = duckdb.connect(config={"preserve_insertion_order": True})
            con.execute("SET parquet_metadata_cache = true")
            if purpose == "page":
                con.execute("SET threads = 1")
            _duck[purpose] = con
        return _duck[purpose].cursor()


def _pixel_where(
    predicates: list[Predicate], extra: list[str] = (), shown: bool = False
) -> tuple[str, list[float]]:
    """DuckDB WHERE text of the pixel predicates (and ``extra`` conditions) with
    ``?`` placeholders and their values; ``shown``: values written in, for display."""
    conditions, values = [], []
    for p in predicates:
        if p.column == CONE:  # the exact angular test (see Predicate.cone_holds)
            ra0, dec0 = (math.radians(v) for v in p.center)
            conditions.append(
                "sin(radians(dec)) * ? + cos(radians(dec)) * ? * cos(radians(ra) - ?) >= ?"
            )
            values += [math.sin(dec0), math.cos(dec0), ra0, p.value]
        else:
            conditions.append(f"{SCAN_COLUMNS[p.column]} {p.op} ?")
            values.append(p.value)
    conditions += list(extra)
    where = " AND ".join(conditions) or "TRUE"
    if shown:
        for value in values:
            where = where.replace("?", repr(value), 1)
    return where, values


@dataclass
class SearchResult:
    results: list[dict]
    total: int
    query: str


@dataclass
class Prepared:
    """A planned search: the catalog has answered, the pixel statement is ready.

    ``restriction`` is how the candidates reach DuckDB: ``None`` when every
    stored spectrum that may match is one the user may see with the product
    filters (the pixel predicates alone decide, no join), ``"IN"`` with the
    allowed ids, or ``"NOT IN"`` with the excluded ids, whichever list is shorter.
    """

    engine: Engine
    spectra: SpectraView
    query: PixelQuery
    catalog_sql: str
    files: list[str]
    restriction: str | None
    ids: np.ndarray
    empty: bool
    scan: LocalScan = None  # type: ignore[assignment]  # set to LOCAL in __post_init__

    def __post_init__(self) -> None:
        self.scan = self.scan or LOCAL

    @staticmethod
    def output_columns(query: PixelQuery) -> list[str]:
        columns = ["product_id", "x", "y", "wavelength", "flux"]
        if "s3d" in query.product_types:
            columns.insert(3, "z")
        return columns

    @property
    def output(self) -> list[str]:
        return self.output_columns(self.query)

    def _where(self, shown: bool = False) -> tuple[str, list[float]]:
        extra = []
        if self.restriction:
            extra.append(f"product_id {self.restriction} (SELECT product_id FROM candidates)")
        return _pixel_where(self.query.predicates, extra, shown)

    def _source(self) -> tuple[str, dict]:
        """The FROM text of the segments and the Arrow objects it names (see
        :func:`~webbarchive.pixels.segment_files.duckdb_source`)."""
        return duckdb_source(segment_paths(self.engine, self.files))

    def _run(self, sql: str, values: list, purpose: str, tables: dict) -> list[tuple]:
        return run_restricted(sql, values, purpose, self.restriction, self.ids, tables)

    def page(self, limit: int, offset: int) -> list[dict]:
        """Rows [offset, offset + limit) in store order: read from the row groups
        directly for shallow pages, by DuckDB (LIMIT/OFFSET) for deep ones."""
        if self.empty:
            return []
        if offset + limit <= PIXEL_FIRST_MAX_ROWS:
            rows, _ = self.scan.first_rows(
                segment_paths(self.engine, self.files),
                self.query.predicates,
                self.output,
                offset + limit,
                ids=self.ids if self.restriction else None,
                exclude=self.restriction == "NOT IN",
            )
            return self._records(rows[offset:])
        return self._records(self.scan.deep_rows(self, limit, offset))

    def deep_rows(self, limit: int, offset: int) -> list[tuple]:
        """Rows [offset, offset + limit) as tuples of :attr:`output`, by DuckDB (LIMIT/OFFSET)."""
        where, values = self._where()
        source, tables = self._source()
        return self._run(
            f"SELECT {', '.join(self.output)} FROM {source} WHERE {where} LIMIT ? OFFSET ?",
            [*values, limit, offset],
            "page",
            tables,
        )

    def total(self) -> int:
        """The count through the candidate semi-join (see :func:`count` for the usual way)."""
        if self.empty:
            return 0
        where, values = self._where()
        source, tables = self._source()
        sql = f"SELECT count(*) FROM {source} WHERE {where}"
        return int(self._run(sql, values, "count", tables)[0][0])

    def _records(self, rows: list[tuple]) -> list[dict]:
        return _records(rows, self.output, _names(self.spectra, {r[0] for r in rows}))

    def shown(self, limit: int, offset: int) -> str:
        """The statements that ran, with their values shown."""
        where, _ = self._where(shown=True)
        return (
            f"WITH candidates AS ({self.catalog_sql}) "
            f"SELECT {', '.join(self.output)} FROM "
            f"read_parquet({_shown_partitions(self.query)}) "
            f"WHERE {where} LIMIT {limit} OFFSET {offset};"
        )


def _shown_partitions(query: PixelQuery) -> str:
    """The partitions a search reads, as the shown statement names them."""
    return ", ".join(f"'productType={t}/*/*.parquet'" for t in query.product_types)


def _names(spectra: SpectraView, ids, allowed: np.ndarray | None = None) -> dict:
    """product_id -> (fileName, derSnr, collection, uri) for ``ids`` that are
    current spectra (and, with ``allowed``, pass that mask): JWST products link
    to their MAST URI, DJA's msaexp spectra to the route serving the file."""
    ids = np.fromiter(ids, np.int64)
    rows, found = spectra.rows_of(ids)
    if allowed is not None:
        found &= allowed[rows]
    named = {}
    for pid, row in zip(ids[found].tolist(), rows[found].tolist(), strict=True):
        snr = spectra.derSnr[row]
        name = spectra.filename[row]
        if spectra.community[row]:
            where = (msaexp_source.DJA, msaexp_source.link(name))
        else:
            where = (msaexp_source.JWST, f"mast:JWST/product/{name}")
        named[pid] = (name, None if snr != snr else float(snr), *where)
    return named


def _records(rows: list[tuple], output: list[str], named: dict) -> list[dict]:
    """Result records in the seed's field order: fileName, x, y, (z,) wavelength,
    flux, derSnr, uri (a link to the spectrum file); then collection (JWST, DJA)."""
    if output == ["product_id", "x", "y", "wavelength", "flux"]:
        return [
            {
                "fileName": named[pid][0],
                "x": x,
                "y": y,
                "wavelength": wavelength,
                "flux": flux,
                "derSnr": named[pid][1],
                "uri": named[pid][3],
                "collection": named[pid][2],
            }
            for pid, x, y, wavelength, flux in rows
        ]
    keys = output[1:]
    records = []
    for row in rows:
        pid = row[0]
        record = {"fileName": named[pid][0], **dict(zip(keys, row[1:], strict=True))}
        record["derSnr"] = named[pid][1]
        record["uri"] = named[pid][3]
        record["collection"] = named[pid][2]
        records.append(record)
    return records


def _candidate_segments(spectra: SpectraView, query: PixelQuery, mask: np.ndarray) -> list[str]:
    """The segments holding the spectra of ``mask`` that may meet the query's
    wavelength window, in store order: a grating filter reads its own partition."""
    wanted = spectra.segment.present(mask)
    if not wanted:
        return []
    low, high = -np.inf, np.inf
    for p in query.predicates:
        if p.column == "wavelength" and p.op in (">", ">=", "="):
            low = max(low, p.value)
        if p.column == "wavelength" and p.op in ("<", "<=", "="):
            high = min(high, p.value)
    return [
        s.segment
        for s in spectra.segments
        if s.segment in wanted
        and s.productType in query.product_types
        and not (s.wavelength_max is not None and s.wavelength_max < low)
        and not (s.wavelength_min is not None and s.wavelength_min > high)
    ]


def _segments_to_read(
    engine: Engine, spectra: SpectraView, query: PixelQuery, mask: np.ndarray
) -> list[str]:
    """:func:`_candidate_segments` less those without a column the predicates read
    (segments older than ``ra``/``dec``: no pixel of theirs is in a cone)."""
    names = _candidate_segments(spectra, query, mask)
    paths = segment_paths(engine, names)
    return [n for n, path in zip(names, paths, strict=True) if has_columns(path, query.predicates)]


#: Pixel-first pages only this deep; deeper pages go through the catalog first.
PIXEL_FIRST_MAX_ROWS = 20_000


#: Filters that keep a good share of the archive (an instrument, a grating): pixels
#: first still finds a page quickly. A program, a target or a position keeps few
#: spectra: the catalog goes first.
COARSE_FILTERS = frozenset({"instrument", "grating", "filter", "exp_type"})


def _cone_obsids(engine: Engine, query: PixelQuery) -> list[int] | None:
    """Observations in the query's cone (None without a position)."""
    if query.position is None:
        return None
    from webbarchive.catalog.sky import observations_in_cone

    with engine.connect() as conn:
        return observations_in_cone(conn, *query.position)


@dataclass(frozen=True)
class Snapshot:
    """What a search reads from the catalog, once for its page and its count: the
    spectra view and the observations in the query's cone (None without one)."""

    spectra: SpectraView
    obsids: list[int] | None


def snapshot(engine: Engine, query: PixelQuery) -> Snapshot:
    return Snapshot(view(engine), _cone_obsids(engine, query))


def pixel_first_page(
    engine: Engine,
    query: PixelQuery,
    user: User,
    limit: int,
    offset: int,
    snap: Snapshot | None = None,
    scan: LocalScan | None = None,
) -> tuple[list[dict], str] | None:
    """The page, read pixels first: when only the user's rights and coarse
    filters can exclude a spectrum, the first rows of the pixel scan are fetched
    unrestricted and only the spectra they come from are checked, so the cost
    follows the page, not the archive. None when the shortcut does not apply or
    rights excluded too much; the caller then plans catalog first. Both paths
    return the same rows in the same order.
    """
    selective = set(query.filters) - COARSE_FILTERS
    if selective or query.position is not None or offset + limit > PIXEL_FIRST_MAX_ROWS:
        return None
    output = Prepared.output_columns(query)
    wanted = offset + limit
    fetch = wanted + wanted // 10 + 100
    spectra = (snap or snapshot(engine, query)).spectra
    allowed = spectra.allowed(query, user)
    files = _segments_to_read(engine, spectra, query, allowed & spectra.may_match(query.predicates))
    if not files:
        return None
    paths = segment_paths(engine, files)
    for _attempt in range(2):
        rows, exhausted = (scan or LOCAL).first_rows(paths, query.predicates, output, fetch)
        named = _names(spectra, {r[0] for r in rows}, allowed)
        kept = [r for r in rows if r[0] in named]
        if len(kept) >= wanted or exhausted:
            shown, _ = _pixel_where(query.predicates, shown=True)
            text = (
                f"SELECT {', '.join(output)} FROM "
                f"read_parquet({_shown_partitions(query)}) WHERE {shown} "
                f"AND product_id IN (<spectra of these pixels that pass: "
                f"{shown_candidates(engine, query, user)}>) LIMIT {limit} OFFSET {offset};"
            )
            return _records(kept[offset:wanted], output, named), text
        fetch *= 8
        if fetch > 8 * PIXEL_FIRST_MAX_ROWS:
            break
    return None


def page(
    engine: Engine,
    query: PixelQuery,
    user: User,
    limit: int,
    offset: int,
    scan: LocalScan | None = None,
) -> list[dict]:
    """One page of results, by the cheaper plan."""
    found = pixel_first_page(engine, query, user, limit, offset, scan=scan)
    if found is not None:
        return found[0]
    return prepare(engine, query, user, scan=scan).page(limit, offset)


def prepare(
    engine: Engine,
    query: PixelQuery,
    user: User,
    snap: Snapshot | None = None,
    scan: LocalScan | None = None,
) -> Prepared:
    """Step 1: ask the catalog which spectra may match and which segments to read."""
    snap = snap or snapshot(engine, query)
    spectra, obsids = snap.spectra, snap.obsids
    stored = spectra.product_type.isin(query.product_types) & spectra.may_match(query.predicates)
    allowed = stored & spectra.allowed(query, user, obsids)
    n_allowed, n_stored = int(allowed.sum()), int(stored.sum())
    restriction, ids = None, np.empty(0, np.int64)
    if n_allowed and n_allowed < n_stored:
        if n_allowed <= n_stored - n_allowed:
            restriction, ids = "IN", spectra.product_id[allowed]
        else:
            restriction, ids = "NOT IN", spectra.product_id[stored & ~allowed]
    files = _segments_to_read(engine, spectra, query, allowed)
    return Prepared(
        engine,
        spectra,
        query,
        shown_candidates(engine, query, user, obsids, excluded=restriction == "NOT IN"),
        files,
        restriction,
        ids,
        empty=not n_allowed or not files,
        scan=scan or LOCAL,
    )


#: A count whose zone maps leave at most this many row groups reads them one by
#: one (bisecting the sorted wavelengths); wider ones are decoded in batches of
#: row groups on every core and counted by numpy
#: (:func:`~webbarchive.pixels.scan.matching_counts`). Measured at 10^8 pixels
#: (count p50): the narrow 1.25-1.251 um query 3.8 ms one by one against 4.7 in
#: batches; the seed (306 groups) 53 against 29 ms; 10-12 um 44 against 43.
COUNT_SCAN_MAX_GROUPS = 16


def pixel_counts(paths: list[str], predicates: list[Predicate]) -> tuple[np.ndarray, np.ndarray]:
    """(product_id, matching pixels) per spectrum with any match in ``paths``:
    row groups read one by one when the zone maps leave few, else in batches.
    The ids may repeat (add their counts)."""
    if not paths:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return planned_counts(plan(paths, predicates), predicates)


def planned_counts(
    planned: list[tuple[str, np.ndarray]], predicates: list[Predicate]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pixel_counts` over the row groups a :func:`plan` left."""
    if sum(groups.size for _, groups in planned) <= COUNT_SCAN_MAX_GROUPS:
        return np.unique(matching_ids(planned, predicates), return_counts=True)
    return matching_counts(planned, predicates)


def candidate_total(
    ids: np.ndarray, counts: np.ndarray, spectra: SpectraView, candidates: np.ndarray
) -> int:
    """The matching pixels of the ``candidates`` (a mask over ``spectra``) out of
    per-spectrum counts (:func:`pixel_counts`)."""
    rows, found = spectra.rows_of(np.asarray(ids, np.int64))
    found &= candidates[rows]
    return int(np.asarray(counts, np.int64)[found].sum())


def run_restricted(
    sql: str,
    values: list,
    purpose: str,
    restriction: str | None,
    ids: np.ndarray,
    tables: dict | None = None,
) -> list[tuple]:
    """Run ``sql`` on the process's DuckDB with table ``candidates`` holding
    ``ids`` when a ``restriction`` (``IN`` / ``NOT IN``) refers to it, and
    ``tables`` (name: Arrow object, as :func:`duckdb_source` gives) registered."""
    cursor = _duckdb(purpose)
    try:
        for name, table in (tables or {}).items():
            cursor.register(name, table)
        if restriction:
            cursor.register("candidates", pa.table({"product_id": pa.array(ids)}))
        return cursor.execute(sql, values).fetchall()
    finally:
        cursor.close()


class LocalScan:
    """The pixel reads of a search, in this process: the default.
    :class:`webbarchive.pixels.distributed.DaskScan` spreads the same reads
    over a Dask cluster and merges their answers to the same result."""

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
        """See :func:`webbarchive.pixels.scan.first_rows`."""
        return first_rows(paths, predicates, output, wanted, ids=ids, exclude=exclude)

    def count(
        self,
        paths: list[str],
        predicates: list[Predicate],
        spectra: SpectraView,
        candidates: np.ndarray,
    ) -> int:
        """Matching pixels of the ``candidates`` (a mask over ``spectra``) in ``paths``."""
        return candidate_total(*pixel_counts(paths, predicates), spectra, candidates)

    def deep_rows(self, prepared: Prepared, limit: int, offset: int) -> list[tuple]:
        """A page too deep for :meth:`first_rows`, as tuples of ``prepared.output``."""
        return prepared.deep_rows(limit, offset)


LOCAL = LocalScan()


#: Predicates a spectrum's catalog row decides for every one of its pixels:
#: derSnr is the spectrum's own value, and every stored pixel has a finite
#: wavelength inside [wavelength_min, wavelength_max]. Flux bounds cover finite
#: fluxes only and a non-finite flux fails every predicate, so they never
#: decide a whole spectrum.
ZONE_MAP_DECIDED = frozenset({"wavelength", "derSnr"})


def count(
    engine: Engine,
    query: PixelQuery,
    user: User,
    snap: Snapshot | None = None,
    scan: LocalScan | None = None,
) -> int:
    """The total. The catalog's view gives the candidates (rights, product
    filters, zone maps) and the segments holding them, so only those segments
    are read; one pass counts matching pixels per spectrum (row groups one by
    one for narrow windows, in batches on every core for wide ones) and numpy
    adds the counts of the candidates.

    When the zone maps decide every predicate (wavelength, derSnr), spectra
    wholly inside the window count their stored pixels (``npix``) without a
    read and only those straddling a window edge are scanned, over the
    wavelengths they cover inside the window.
    """
    snap = snap or snapshot(engine, query)
    spectra = snap.spectra
    candidates = spectra.allowed(query, user, snap.obsids)
    candidates &= spectra.may_match(query.predicates)
    if not candidates.any():
        return 0
    predicates = list(query.predicates)
    total = 0
    if all(p.column in ZONE_MAP_DECIDED for p in predicates):  # also: no predicate
        wmin, wmax = spectra.wavelength_min, spectra.wavelength_max
        inside = candidates & wavelengths_inside(wmin, wmax, predicates)
        total = int(spectra.npix[inside].sum())
        candidates &= ~inside & (spectra.npix > 0)
        if not candidates.any():
            return total
        # the straddlers' pixels inside the window lie within their own hull
        predicates += [
            Predicate("wavelength", ">=", float(wmin[candidates].min())),
            Predicate("wavelength", "<=", float(wmax[candidates].max())),
        ]
    paths = segment_paths(engine, _segments_to_read(engine, spectra, query, candidates))
    # derSnr is the spectrum's: the candidates' mask has decided it exactly
    scanned = [p for p in predicates if p.column != "derSnr"]
    return total + (scan or LOCAL).count(paths, scanned, spectra, candidates)


def search(
    engine: Engine,
    query: PixelQuery,
    user: User,
    limit: int,
    offset: int,
    scan: LocalScan | None = None,
) -> SearchResult:
    """Run ``query`` for ``user``: the page [offset, offset + limit) and the total;
    ``scan``: where the pixels are read (this process by default, or a
    :class:`~webbarchive.pixels.distributed.DaskScan`).

    A segment replaced by a concurrent :func:`~webbarchive.pixels.index.update`
    between planning and reading is deleted under our feet: plan again, once.
    Object storage that does not answer raises
    :class:`~webbarchive.storage.StorageUnavailable`.
    """
    try:
        try:
            return _search(engine, query, user, limit, offset, scan)
        except Exception as exc:
            if not (isinstance(exc, duckdb.IOException) or vanished(exc)):
                raise
        return _search(engine, query, user, limit, offset, scan)
    except Exception as exc:
        down = unreachable(exc)
        if down is not None:
            raise down from exc
        raise


def _search(
    engine: Engine, query: PixelQuery, user: User, limit: int, offset: int, scan: LocalScan | None
) -> SearchResult:
    snap = snapshot(engine, query)  # one view check and one cone query per search
    first = pixel_first_page(engine, query, user, limit, offset, snap, scan)
    if first is None:
        prepared = prepare(engine, query, user, snap, scan)
        first = (prepared.page(limit, offset), prepared.shown(limit, offset))
    return SearchResult(first[0], count(engine, query, user, snap, scan), first[1])
