"""Pixel search: plan and run a :class:`~webbarchive.pixels.syntax.PixelQuery`.

The catalog (SQL, either backend) decides which spectra a user may see with
the product filters (instrument, grating, filter, exp_type, program, target,
position) through :func:`webbarchive.catalog.rights.visible_products`, and
holds per-spectrum zone maps (derSnr, wavelength and flux min/max). The pixels
live in wavelength-sorted Parquet segments whose row-group statistics are zone
maps too. The planner picks, per request:

- **first pages, pixels first** (:func:`pixel_first_page`): with no selective
  filter, read the row groups that may match until the page is full, then ask
  the catalog about just the spectra those pixels come from;
- **pages, catalog first** (:class:`Prepared`): selective filters (program,
  target, position) or deep pages: the catalog lists the allowed (or the
  excluded) spectra, and the row groups (shallow) or DuckDB (deep) filter by them;
- **totals** (:func:`count`): count matching pixels per spectrum in one pass
  (row groups directly for narrow windows, DuckDB in parallel for wide ones),
  then keep the spectra the catalog allows; when the catalog's zone maps
  decide every predicate (wavelength, derSnr), spectra wholly inside the
  window count their stored pixels unread and only straddlers are scanned.

Results come segment by segment (in write order), each in wavelength order:
the order of the store, stable from one page to the next and the same on
every plan.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, and_, bindparam, func, select

from webbarchive.catalog.rights import User, visible_products
from webbarchive.catalog.schema import keywords, observations, products
from webbarchive.pixels.scan import counts_by_spectrum, first_rows, matching_groups
from webbarchive.pixels.store import pixels_root
from webbarchive.pixels.syntax import (  # noqa: F401  (re-exported: the API's vocabulary)
    OPERATORS,
    PIXEL_COLUMNS,
    PRODUCT_FILTERS,
    PRODUCT_TYPES,
    PixelQuery,
    Predicate,
    QueryError,
    accepted_parameters,
    parse,
)
from webbarchive.pixels.tables import pixel_segments, spectral_characteristics

# --- step 1: the catalog ------------------------------------------------------------


def _zone_map_clause(predicates: list[Predicate]):
    """Per-spectrum pruning: a spectrum can match only if its range meets the predicate."""
    c = spectral_characteristics.c
    ranges = {"wavelength": (c.wavelength_min, c.wavelength_max), "flux": (c.flux_min, c.flux_max)}
    clauses = []
    for p in predicates:
        if p.column == "derSnr":
            column = c.derSnr
            clauses.append(
                {
                    ">": column > p.value,
                    ">=": column >= p.value,
                    "<": column < p.value,
                    "<=": column <= p.value,
                    "=": column == p.value,
                    "<>": column != p.value,
                }[p.op]
            )
        elif p.column in ranges:
            low, high = ranges[p.column]
            if p.op in (">", ">="):
                clauses.append(high >= p.value)
            elif p.op in ("<", "<="):
                clauses.append(low <= p.value)
            elif p.op == "=":
                clauses.append(and_(low <= p.value, high >= p.value))
    return clauses


def _normalize_program(value: str) -> str:
    text = value.lower().removeprefix("jw").lstrip("0")
    return text or "0"


def _product_clauses(query: PixelQuery, obsids: list[int] | None):
    import json

    p = products.c
    clauses = []
    for name, values in query.filters.items():
        upper = [v.upper() for v in values]
        if name == "instrument":
            clauses.append(func.upper(p.instrument).in_([v.split("/")[0] for v in upper]))
        elif name == "exp_type":
            clauses.append(func.upper(p.exp_type).in_(upper))
        elif name == "program":
            clauses.append(p.proposal_id.in_([_normalize_program(v) for v in values]))
        elif name == "target":
            clauses.append(
                p.obsid.in_(
                    select(observations.c.obsid).where(
                        func.upper(observations.c.target_name).in_(upper)
                    )
                )
            )
        else:  # grating, filter: the FITS keywords of the product
            clauses.append(
                p.product_id.in_(
                    select(keywords.c.product_id).where(
                        keywords.c.name == name,
                        func.upper(keywords.c.value).in_([json.dumps(v) for v in upper]),
                    )
                )
            )
    if obsids is not None:
        clauses.append(p.obsid.in_(obsids))
    return clauses


def _allowed_clauses(query: PixelQuery, user: User, obsids: list[int] | None):
    """What the catalog decides: current extraction, rights, product filters."""
    return [
        spectral_characteristics.c.checksum == products.c.checksum,
        visible_products(user),
        *_product_clauses(query, obsids),
    ]


def _joined():
    c = spectral_characteristics.c
    return spectral_characteristics.join(products, products.c.product_id == c.product_id)


def candidates_statement(query: PixelQuery, user: User, obsids: list[int] | None = None):
    """SQL for the candidate spectra (product_id) of ``query`` for ``user``."""
    c = spectral_characteristics.c
    return (
        select(c.product_id)
        .select_from(_joined())
        .where(
            c.productType == query.product_type,
            *_allowed_clauses(query, user, obsids),
            *_zone_map_clause(query.predicates),
        )
    )


def _stored_statement(query: PixelQuery):
    """Spectra in the store that may hold matching pixels, whoever asks."""
    c = spectral_characteristics.c
    return select(c.product_id).where(
        c.productType == query.product_type, *_zone_map_clause(query.predicates)
    )


# --- step 2: the pixels -------------------------------------------------------------

_duck_lock = threading.Lock()
_duck: dict[str, duckdb.DuckDBPyConnection] = {}


def _duckdb(purpose: str = "count") -> duckdb.DuckDBPyConnection:
    """A cursor on the process's DuckDB for ``purpose`` (in memory; it only reads Parquet).

    Pages run on a one-thread instance: a LIMIT query stops after a row group
    or two, and a second thread only adds scheduling on a busy machine (2 ms
    against 12-50 ms measured on the 2-core box). Counts scan whole windows and
    use every core.
    """
    with _duck_lock:
        if purpose not in _duck:
            con = duckdb.connect(config={"preserve_insertion_order": True})
            con.execute("SET parquet_metadata_cache = true")
            if purpose == "page":
                con.execute("SET threads = 1")
            _duck[purpose] = con
        return _duck[purpose].cursor()


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class SearchResult:
    results: list[dict]
    total: int
    query: str


def _literal_sql(statement, engine: Engine) -> str:
    """``statement`` with its values written in, for display only."""
    try:
        compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    except Exception:  # a value without a literal form: show the placeholders
        compiled = statement.compile(dialect=engine.dialect)
    return " ".join(str(compiled).split())


def _shown_sql(result) -> str:
    """The SQL a result ran, its bound values written in for display only.

    Taken from the executed (cached) compilation: compiling again with
    literal values costs more than the query itself."""
    context = result.context
    text = " ".join(context.statement.split())
    params = context.parameters[0] if context.parameters else ()
    if isinstance(params, dict):  # psycopg: %(name)s
        for name in sorted(params, key=len, reverse=True):
            text = text.replace(f"%({name})s", repr(params[name]))
        return text
    for value in params:  # sqlite: ?
        text = text.replace("?", repr(value), 1)
    return text


@dataclass
class Prepared:
    """A planned search: the catalog has answered, the pixel statement is ready.

    ``restriction`` is how the candidates reach DuckDB: ``None`` when every
    stored spectrum that may match is one the user may see with the product
    filters (the pixel predicates alone decide, no join), ``"IN"`` with the
    allowed ids, or ``"NOT IN"`` with the excluded ids, whichever list is shorter.
    """

    engine: Engine
    query: PixelQuery
    catalog_sql: str
    files: list[str]
    restriction: str | None
    ids: np.ndarray
    empty: bool

    @staticmethod
    def output_columns(query: PixelQuery) -> list[str]:
        columns = ["product_id", "x", "y", "wavelength", "flux"]
        if query.product_type == "s3d":
            columns.insert(3, "z")
        return columns

    @property
    def output(self) -> list[str]:
        return self.output_columns(self.query)

    def _where(self, shown: bool = False) -> tuple[str, list[float]]:
        conditions = [f"{PIXEL_COLUMNS[p.column]} {p.op} ?" for p in self.query.predicates]
        values = [p.value for p in self.query.predicates]
        if self.restriction:
            conditions.append(f"product_id {self.restriction} (SELECT product_id FROM candidates)")
        where = " AND ".join(conditions) or "TRUE"
        if shown:
            for value in values:
                where = where.replace("?", repr(value), 1)
        return where, values

    def _source(self) -> str:
        root = pixels_root(self.engine)
        paths = ", ".join(_sql_literal(str(root / f)) for f in self.files)
        return f"read_parquet([{paths}])"

    def _run(self, sql: str, values: list, purpose: str) -> list[tuple]:
        cursor = _duckdb(purpose)
        try:
            if self.restriction:
                cursor.register("candidates", pa.table({"product_id": pa.array(self.ids)}))
            return cursor.execute(sql, values).fetchall()
        finally:
            cursor.close()

    def page(self, limit: int, offset: int) -> list[dict]:
        """Rows [offset, offset + limit) in store order: read from the row groups
        directly for shallow pages, by DuckDB (LIMIT/OFFSET) for deep ones."""
        if self.empty:
            return []
        if offset + limit <= PIXEL_FIRST_MAX_ROWS:
            root = pixels_root(self.engine)
            rows, _ = first_rows(
                [str(root / f) for f in self.files],
                self.query.predicates,
                self.output,
                offset + limit,
                ids=self.ids if self.restriction else None,
                exclude=self.restriction == "NOT IN",
            )
            return self._records(rows[offset:])
        where, values = self._where()
        rows = self._run(
            f"SELECT {', '.join(self.output)} FROM {self._source()} WHERE {where} LIMIT ? OFFSET ?",
            [*values, limit, offset],
            "page",
        )
        return self._records(rows)

    def total(self) -> int:
        """The count through the candidate semi-join (see :func:`count` for the usual way)."""
        if self.empty:
            return 0
        where, values = self._where()
        sql = f"SELECT count(*) FROM {self._source()} WHERE {where}"
        return int(self._run(sql, values, "count")[0][0])

    def _records(self, rows: list[tuple]) -> list[dict]:
        with self.engine.connect() as conn:
            named = _names(conn, select_names(), {r[0] for r in rows})
        return _records(rows, self.output, named)

    def shown(self, limit: int, offset: int) -> str:
        """The statements that ran, with their values shown."""
        where, _ = self._where(shown=True)
        return (
            f"WITH candidates AS ({self.catalog_sql}) "
            f"SELECT {', '.join(self.output)} FROM "
            f"read_parquet('productType={self.query.product_type}/*.parquet') "
            f"WHERE {where} LIMIT {limit} OFFSET {offset};"
        )


def select_names():
    c = spectral_characteristics.c
    return select(c.product_id, products.c.filename, c.derSnr).select_from(_joined())


def _names(conn, statement, ids: set[int]) -> dict[int, tuple[str, float | None]]:
    """product_id -> (fileName, derSnr) for ``ids`` that ``statement`` keeps."""
    ordered = [int(i) for i in sorted(ids)]
    named = {}
    # one cached statement with an expanding parameter: no per-value coercion
    column = spectral_characteristics.c.product_id
    statement = statement.where(column.in_(bindparam("ids", expanding=True)))
    for start in range(0, len(ordered), 500):
        for pid, filename, snr in conn.execute(statement, {"ids": ordered[start : start + 500]}):
            named[pid] = (filename, snr)
    return named


def _records(rows: list[tuple], output: list[str], named: dict) -> list[dict]:
    """Result records in the seed's field order: fileName, x, y, (z,) wavelength,
    flux, derSnr, uri."""
    uris = {pid: f"mast:JWST/product/{name}" for pid, (name, _snr) in named.items()}
    if output == ["product_id", "x", "y", "wavelength", "flux"]:
        return [
            {
                "fileName": named[pid][0],
                "x": x,
                "y": y,
                "wavelength": wavelength,
                "flux": flux,
                "derSnr": named[pid][1],
                "uri": uris[pid],
            }
            for pid, x, y, wavelength, flux in rows
        ]
    keys = output[1:]
    records = []
    for row in rows:
        pid = row[0]
        record = {"fileName": named[pid][0], **dict(zip(keys, row[1:], strict=True))}
        record["derSnr"] = named[pid][1]
        record["uri"] = uris[pid]
        records.append(record)
    return records


def _segment_files(conn, query: PixelQuery) -> list[str]:
    """Segments of the product type whose wavelength range meets the query's, in write order."""
    segments = select(pixel_segments.c.segment).where(
        pixel_segments.c.productType == query.product_type
    )
    for p in query.predicates:
        if p.column == "wavelength" and p.op in (">", ">=", "="):
            segments = segments.where(pixel_segments.c.wavelength_max >= p.value)
        if p.column == "wavelength" and p.op in ("<", "<=", "="):
            segments = segments.where(pixel_segments.c.wavelength_min <= p.value)
    return list(conn.execute(segments.order_by(pixel_segments.c.seq)).scalars())


#: Pixel-first pages only this deep; deeper pages go through the catalog first.
PIXEL_FIRST_MAX_ROWS = 20_000


#: Filters that keep a good share of the archive (an instrument, a grating): pixels
#: first still finds a page quickly. A program, a target or a position keeps few
#: spectra: the catalog goes first.
COARSE_FILTERS = frozenset({"instrument", "grating", "filter", "exp_type"})


def pixel_first_page(
    engine: Engine, query: PixelQuery, user: User, limit: int, offset: int
) -> tuple[list[dict], str] | None:
    """The page, read pixels first: when only the user's rights and coarse
    filters can exclude a spectrum, the first rows of the pixel scan are fetched
    unrestricted and only the spectra they come from are checked in the
    catalog, so the cost follows the page, not the archive. None when the
    shortcut does not apply or rights excluded too much; the caller then
    plans catalog first. Both paths return the same rows in the same order.
    """
    selective = set(query.filters) - COARSE_FILTERS
    if selective or query.position is not None or offset + limit > PIXEL_FIRST_MAX_ROWS:
        return None
    output = Prepared.output_columns(query)
    conditions = [f"{PIXEL_COLUMNS[p.column]} {p.op} ?" for p in query.predicates]
    values = [p.value for p in query.predicates]
    where = " AND ".join(conditions) or "TRUE"
    wanted = offset + limit
    fetch = wanted + wanted // 10 + 100
    with engine.connect() as conn:
        files = _segment_files(conn, query)
        if not files:
            return None
        root = pixels_root(engine)
        paths = [str(root / f) for f in files]
        for _attempt in range(2):
            rows, exhausted = first_rows(paths, query.predicates, output, fetch)
            allowed = candidates_statement(query, user)
            allowed = allowed.with_only_columns(*select_names().selected_columns)
            named = _names(conn, allowed, {r[0] for r in rows})
            kept = [r for r in rows if r[0] in named]
            if len(kept) >= wanted or exhausted:
                shown_values = list(values)
                shown = where
                for value in shown_values:
                    shown = shown.replace("?", repr(value), 1)
                text = (
                    f"SELECT {', '.join(output)} FROM "
                    f"read_parquet('productType={query.product_type}/*.parquet') WHERE {shown} "
                    f"AND product_id IN (<spectra of these pixels that pass: "
                    f"{_literal_sql(allowed, engine)}>) LIMIT {limit} OFFSET {offset};"
                )
                return _records(kept[offset:wanted], output, named), text
            fetch *= 8
            if fetch > 8 * PIXEL_FIRST_MAX_ROWS:
                break
    return None


def page(engine: Engine, query: PixelQuery, user: User, limit: int, offset: int) -> list[dict]:
    """One page of results, by the cheaper plan."""
    found = pixel_first_page(engine, query, user, limit, offset)
    if found is not None:
        return found[0]
    return prepare(engine, query, user).page(limit, offset)


def prepare(engine: Engine, query: PixelQuery, user: User) -> Prepared:
    """Step 1: ask the catalog which spectra may match and which segments to read."""
    obsids = None
    c = spectral_characteristics.c
    with engine.connect() as conn:
        if query.position is not None:
            from webbarchive.catalog.sky import observations_in_cone

            obsids = observations_in_cone(conn, *query.position)
        allowed = candidates_statement(query, user, obsids)
        stored = _stored_statement(query)
        n_allowed, n_stored = conn.execute(
            select(
                select(func.count()).select_from(allowed.subquery()).scalar_subquery(),
                select(func.count()).select_from(stored.subquery()).scalar_subquery(),
            )
        ).one()
        restriction, ids, shown = None, np.empty(0, np.int64), allowed
        if n_allowed and n_allowed < n_stored:
            if n_allowed <= n_stored - n_allowed:
                restriction, shown = "IN", allowed
            else:
                restriction = "NOT IN"
                shown = stored.where(c.product_id.not_in(allowed.scalar_subquery()))
        if restriction:
            result = conn.execute(shown)
            ids = np.fromiter(result.scalars(), np.int64)
            catalog_sql = _shown_sql(result)
        else:  # nothing to fetch: run it empty, for the statement to show
            catalog_sql = _shown_sql(conn.execute(shown.limit(0))).rsplit(" LIMIT ", 1)[0]
        files = _segment_files(conn, query)
    return Prepared(
        engine,
        query,
        catalog_sql,
        files,
        restriction,
        ids,
        empty=not n_allowed or not files,
    )


#: Up to this many spectra, a count checks just them in the catalog; beyond,
#: it fetches every candidate once (one indexed query instead of many IN lists).
COUNT_CHECK_SPECTRA = 2_000

#: The same without product filters: every spectrum with a matching pixel is
#: then a candidate, so checking just them costs fewer rows than fetching every
#: candidate (IN lists ~4 us per spectrum, the whole fetch ~3.3 us per candidate
#: on SQLite at 10^7 pixels, where the narrow window matches 255 spectra of 945
#: candidates and the seed 437). At 10^8 those become thousands: still IN lists.
#: Wide windows match nearly every candidate: one fetch is then cheaper.
COUNT_CHECK_SPECTRA_UNFILTERED = 8_000


#: A count whose zone maps leave at most this many row groups reads them directly
#: (a narrow window); wider ones go to DuckDB, which scans in parallel.
COUNT_SCAN_MAX_GROUPS = 48


def _grouped_count(paths: list[str], predicates: list[Predicate]):
    source = "read_parquet([" + ", ".join(_sql_literal(p) for p in paths) + "])"
    conditions = [f"{PIXEL_COLUMNS[p.column]} {p.op} ?" for p in predicates]
    where = " AND ".join(conditions) or "TRUE"
    cursor = _duckdb("count")
    try:
        grouped = cursor.execute(
            f"SELECT product_id, count(*) AS n FROM {source} WHERE {where} GROUP BY product_id",
            [p.value for p in predicates],
        ).fetchnumpy()
    finally:
        cursor.close()
    return np.asarray(grouped["product_id"], np.int64), np.asarray(grouped["n"], np.int64)


#: Predicates a spectrum's catalog row decides for every one of its pixels:
#: derSnr is the spectrum's own value, and every stored pixel has a finite
#: wavelength inside [wavelength_min, wavelength_max]. Flux bounds cover finite
#: fluxes only and a non-finite flux fails every predicate, so they never
#: decide a whole spectrum.
ZONE_MAP_DECIDED = frozenset({"wavelength", "derSnr"})


def _wholly_inside(wmin: np.ndarray, wmax: np.ndarray, predicates: list[Predicate]) -> np.ndarray:
    """Spectra whose every pixel passes the wavelength predicates (derSnr is
    already exact in the catalog's statement)."""
    inside = np.ones(wmin.size, bool)
    for p in predicates:
        if p.column != "wavelength":
            continue
        v = p.value
        inside &= {
            ">": wmin > v,
            ">=": wmin >= v,
            "<": wmax < v,
            "<=": wmax <= v,
            "=": (wmin == v) & (wmax == v),
            "<>": (wmax < v) | (wmin > v),
        }[p.op]
    return inside


def _count_by_zone_maps(engine: Engine, query: PixelQuery, user: User, retry: bool = True) -> int:
    """The total when the catalog's zone maps decide the predicates: spectra
    wholly inside the window count their stored pixels (``npix``) without a
    read; only the spectra that straddle a window edge are scanned, in their
    own segments and over the wavelengths they cover inside the window."""
    c = spectral_characteristics.c
    with engine.connect() as conn:
        obsids = None
        if query.position is not None:
            from webbarchive.catalog.sky import observations_in_cone

            obsids = observations_in_cone(conn, *query.position)
        rows = conn.execute(
            candidates_statement(query, user, obsids).with_only_columns(
                c.product_id, c.wavelength_min, c.wavelength_max, c.npix, c.segment
            )
        ).all()
        if not rows:
            return 0
        pid = np.asarray([r[0] for r in rows], np.int64)
        wmin = np.asarray([r[1] for r in rows], np.float64)  # None (no pixels): NaN
        wmax = np.asarray([r[2] for r in rows], np.float64)
        npix = np.asarray([r[3] for r in rows], np.int64)
        inside = _wholly_inside(wmin, wmax, query.predicates)
        total = int(npix[inside].sum())
        straddling = ~inside & (npix > 0)
        if not straddling.any():
            return total
        segments = {rows[i][4] for i in np.flatnonzero(straddling)}
        live = _segment_files(conn, query)
        if segments - set(live) and retry:
            # an update() moved pixels since the rows were read: read again
            return _count_by_zone_maps(engine, query, user, retry=False)
        files = [f for f in live if f in segments]
    # the straddlers' pixels inside the window lie within their own hull
    hull = [
        *query.predicates,
        Predicate("wavelength", ">=", float(wmin[straddling].min())),
        Predicate("wavelength", "<=", float(wmax[straddling].max())),
    ]
    root = pixels_root(engine)
    paths = [str(root / f) for f in files]
    if not paths:
        return total
    if matching_groups(paths, hull) <= COUNT_SCAN_MAX_GROUPS:
        ids, counts = counts_by_spectrum(paths, hull)
    else:
        ids, counts = _grouped_count(paths, hull)
    return total + int(counts[np.isin(ids, pid[straddling])].sum())


def count(engine: Engine, query: PixelQuery, user: User) -> int:
    """The total: one pass counts matching pixels per spectrum (the pixel
    predicates only; DuckDB, or the row groups directly when the zone maps leave
    few), then the catalog says which of those spectra the user may see with the
    product filters, and numpy adds their counts. The scan never waits on the
    catalog, and the catalog work follows the spectra that matched. When the
    catalog's zone maps decide every predicate (wavelength, derSnr), the
    catalog goes first instead (:func:`_count_by_zone_maps`).
    """
    if query.predicates and all(p.column in ZONE_MAP_DECIDED for p in query.predicates):
        return _count_by_zone_maps(engine, query, user)
    with engine.connect() as conn:
        files = _segment_files(conn, query)
        if not files:
            return 0
        root = pixels_root(engine)
        paths = [str(root / f) for f in files]
        if matching_groups(paths, query.predicates) <= COUNT_SCAN_MAX_GROUPS:
            ids, counts = counts_by_spectrum(paths, query.predicates)
        else:
            ids, counts = _grouped_count(paths, query.predicates)
        if not ids.size:
            return 0
        obsids = None
        if query.position is not None:
            from webbarchive.catalog.sky import observations_in_cone

            obsids = observations_in_cone(conn, *query.position)
        allowed_statement = candidates_statement(query, user, obsids)
        column = spectral_characteristics.c.product_id
        unfiltered = not query.filters and obsids is None
        if ids.size <= (COUNT_CHECK_SPECTRA_UNFILTERED if unfiltered else COUNT_CHECK_SPECTRA):
            allowed = []
            ordered = sorted(int(i) for i in ids)
            checked = allowed_statement.where(column.in_(bindparam("ids", expanding=True)))
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                allowed += conn.execute(checked, {"ids": chunk}).scalars().all()
        else:
            allowed = conn.execute(allowed_statement).scalars().all()
    return int(counts[np.isin(ids, np.asarray(allowed, np.int64))].sum())


def search(engine: Engine, query: PixelQuery, user: User, limit: int, offset: int) -> SearchResult:
    """Run ``query`` for ``user``: the page [offset, offset + limit) and the total.

    A segment replaced by a concurrent :func:`~webbarchive.pixels.index.update`
    between planning and reading is deleted under our feet: plan again, once.
    """
    try:
        return _search(engine, query, user, limit, offset)
    except (FileNotFoundError, duckdb.IOException):
        return _search(engine, query, user, limit, offset)


def _search(engine: Engine, query: PixelQuery, user: User, limit: int, offset: int) -> SearchResult:
    first = pixel_first_page(engine, query, user, limit, offset)
    if first is None:
        prepared = prepare(engine, query, user)
        first = (prepared.page(limit, offset), prepared.shown(limit, offset))
    return SearchResult(first[0], count(engine, query, user), first[1])
