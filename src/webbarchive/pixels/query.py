"""Pixel search: parse the seed's syntax, plan, run.

A search runs in two steps:

1. **Catalog (SQL, either backend)**: the spectra that may hold matching pixels:
   product filters (instrument, grating, filter, exp_type, program, target,
   position), the user's rights (:func:`webbarchive.catalog.rights.visible_products`),
   derSnr, and the per-spectrum zone maps (wavelength and flux min/max) that
   drop spectra with no pixel in range before any pixel is read.
2. **Pixels (DuckDB over the Parquet segments)**: the pixel predicates, with
   the candidates of step 1 as a semi-join. Segments are wavelength-sorted, so
   Parquet row-group statistics skip everything outside the wavelength window.

Results come segment by segment (in write order), each in wavelength order:
the order of the store, stable from one page to the next.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, and_, func, select

from webbarchive.catalog.rights import User, visible_products
from webbarchive.catalog.schema import keywords, observations, products
from webbarchive.pixels.store import pixels_root
from webbarchive.pixels.tables import pixel_segments, spectral_characteristics

#: Searchable pixel columns: API name -> column in the segments.
PIXEL_COLUMNS = {
    "wavelength": "wavelength",
    "flux": "flux",
    "fluxErr": "flux_error",
    "derSnr": "derSnr",
}
#: Operators of ``<column>.<op>=value``; min and max are gte and lte.
OPERATORS = {
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "eq": "=",
    "ne": "<>",
    "min": ">=",
    "max": "<=",
}
PRODUCT_FILTERS = ("instrument", "grating", "filter", "exp_type", "program", "target")
POSITION_PARAMS = ("ra", "dec", "radius")
PRODUCT_TYPES = ("x1d", "c1d", "s2d", "s3d")
OTHER_PARAMS = ("productType", "limit", "offset")
DEFAULT_RADIUS_DEG = 0.05


class QueryError(ValueError):
    """A search the user wrote wrongly; ``accepted`` says what is valid."""

    def __init__(self, message: str, accepted=None) -> None:
        super().__init__(message)
        self.accepted = accepted


def accepted_parameters() -> dict:
    return {
        "columns": {
            name: [f"{name}.{op}" for op in OPERATORS] + [f"{name}=<low>,<high>"]
            for name in PIXEL_COLUMNS
        },
        "operators": sorted(OPERATORS),
        "product filters": [*PRODUCT_FILTERS, *POSITION_PARAMS],
        "productType": list(PRODUCT_TYPES),
        "paging": ["limit", "offset"],
    }


@dataclass(frozen=True)
class Predicate:
    column: str  # API name
    op: str  # SQL operator
    value: float

    def holds(self, values: np.ndarray) -> np.ndarray:
        """The predicate over numpy values (NaN fails, as NULL does in SQL)."""
        with np.errstate(invalid="ignore"):
            result = {
                ">": values > self.value,
                ">=": values >= self.value,
                "<": values < self.value,
                "<=": values <= self.value,
                "=": values == self.value,
                "<>": values != self.value,
            }[self.op]
        return result & np.isfinite(values)


@dataclass
class PixelQuery:
    product_type: str = "x1d"
    predicates: list[Predicate] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    position: tuple[float, float, float] | None = None  # ra, dec, radius (deg)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise QueryError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise QueryError(f"{name}: {text!r} is not a finite number")
    return value


def parse(params: Iterable[tuple[str, str]]) -> PixelQuery:
    """Read a search from query parameters (repeats allowed: predicates AND,
    product filter values OR; lists may also be comma-separated)."""
    query = PixelQuery()
    position: dict[str, str] = {}
    for key, raw in params:
        value = raw.strip()
        if key in OTHER_PARAMS:
            if key == "productType":
                if value.lower() not in PRODUCT_TYPES:
                    raise QueryError(
                        f"productType {value!r} is not searchable", accepted=list(PRODUCT_TYPES)
                    )
                query.product_type = value.lower()
            continue
        if key in POSITION_PARAMS:
            position[key] = value
            continue
        if key in PRODUCT_FILTERS:
            values = [v.strip() for v in value.split(",") if v.strip()]
            if not values:
                raise QueryError(f"{key} needs a value")
            query.filters.setdefault(key, []).extend(values)
            continue
        column, _, op = key.partition(".")
        if column not in PIXEL_COLUMNS:
            raise QueryError(
                f"unknown parameter {key!r}; searchable columns are "
                f"{', '.join(PIXEL_COLUMNS)}, product filters "
                f"{', '.join(PRODUCT_FILTERS + POSITION_PARAMS)}",
                accepted=accepted_parameters(),
            )
        if not op:
            low, sep, high = value.partition(",")
            if not sep:
                raise QueryError(
                    f"{column}={value!r}: a range is written {column}=<low>,<high> "
                    f"(either side may be empty); use {column}.eq=<value> for equality",
                    accepted=accepted_parameters()["columns"][column],
                )
            if low.strip():
                query.predicates.append(Predicate(column, ">=", _number(key, low)))
            if high.strip():
                query.predicates.append(Predicate(column, "<=", _number(key, high)))
            continue
        if op not in OPERATORS:
            raise QueryError(f"unknown operator {op!r} in {key!r}", accepted=sorted(OPERATORS))
        query.predicates.append(Predicate(column, OPERATORS[op], _number(key, value)))
    if position:
        query.position = _parse_position(position)
    return query


def _parse_position(position: dict[str, str]) -> tuple[float, float, float]:
    from webbarchive.api.errors import ApiError
    from webbarchive.api.positions import parse_position, parse_radius

    try:
        where = parse_position(position.get("ra"), position.get("dec"))
        radius = parse_radius(position.get("radius"), default=DEFAULT_RADIUS_DEG)
    except ApiError as exc:
        raise QueryError(exc.message, accepted=exc.accepted) from None
    return (where.ra, where.dec, radius)


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


def candidates_statement(query: PixelQuery, user: User, obsids: list[int] | None = None):
    """SQL for the candidate spectra: (product_id, filename, derSnr)."""
    c = spectral_characteristics.c
    return (
        select(c.product_id, products.c.filename, c.derSnr)
        .select_from(spectral_characteristics.join(products, products.c.product_id == c.product_id))
        .where(
            c.productType == query.product_type,
            # pixels of the file as it is now (update() replaces changed files)
            c.checksum == products.c.checksum,
            visible_products(user),
            *_product_clauses(query, obsids),
            *_zone_map_clause(query.predicates),
        )
    )


# --- step 2: the pixels -------------------------------------------------------------

_duck_lock = threading.Lock()
_duck: duckdb.DuckDBPyConnection | None = None


def _duckdb() -> duckdb.DuckDBPyConnection:
    """A cursor on the process's DuckDB (in memory; it only reads Parquet)."""
    global _duck
    with _duck_lock:
        if _duck is None:
            _duck = duckdb.connect(config={"preserve_insertion_order": True})
            _duck.execute("SET parquet_metadata_cache = true")
        return _duck.cursor()


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class SearchResult:
    results: list[dict]
    total: int
    query: str


@dataclass
class Plan:
    """What runs: the candidate SQL and the DuckDB statement over the segments."""

    catalog_sql: str
    files: list[str]
    where: str
    values: list[float]
    output: list[str]
    restrict: bool  # whether the candidate semi-join is needed


def _compile_literal(statement, engine: Engine) -> str:
    try:
        return str(
            statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        )
    except Exception:  # a value type without a literal renderer: show the bound form
        return str(statement.compile(dialect=engine.dialect))


def search(engine: Engine, query: PixelQuery, user: User, limit: int, offset: int) -> SearchResult:
    """Run ``query`` for ``user``: the page [offset, offset + limit) and the total."""
    obsids = None
    with engine.connect() as conn:
        if query.position is not None:
            from webbarchive.catalog.sky import observations_in_cone

            obsids = observations_in_cone(conn, *query.position)
        statement = candidates_statement(query, user, obsids)
        rows = conn.execute(statement).all()
        window = [p for p in query.predicates if p.column == "wavelength"]
        segments = select(pixel_segments.c.segment).where(
            pixel_segments.c.productType == query.product_type
        )
        for p in window:
            if p.op in (">", ">="):
                segments = segments.where(pixel_segments.c.wavelength_max >= p.value)
            elif p.op in ("<", "<="):
                segments = segments.where(pixel_segments.c.wavelength_min <= p.value)
        files = [r[0] for r in conn.execute(segments.order_by(pixel_segments.c.seq))]
    catalog_sql = _compile_literal(statement, engine)
    root = pixels_root(engine)
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    conditions = [f"{PIXEL_COLUMNS[p.column]} {p.op} ?" for p in query.predicates]
    values = [p.value for p in query.predicates]
    output = ["product_id", "x", "y", "wavelength", "flux"]
    if query.product_type == "s3d":
        output.insert(3, "z")
    if not rows or not files:
        shown = _display(catalog_sql, [], conditions, values, output, limit, offset)
        return SearchResult([], 0, shown)
    paths = ", ".join(_sql_literal(str(root / f)) for f in files)
    source = f"read_parquet([{paths}])"
    conditions.append("product_id IN (SELECT product_id FROM candidates)")
    where = " AND ".join(conditions)
    cursor = _duckdb()
    try:
        cursor.register("candidates", pa.table({"product_id": pa.array(list(by_id), pa.int64())}))
        page = cursor.execute(
            f"SELECT {', '.join(output)} FROM {source} WHERE {where} LIMIT ? OFFSET ?",
            [*values, limit, offset],
        ).fetchall()
        total = cursor.execute(f"SELECT count(*) FROM {source} WHERE {where}", values).fetchone()[0]
    finally:
        cursor.close()
    results = []
    for row in page:
        record = dict(zip(output, row, strict=True))
        filename, snr = by_id[record.pop("product_id")]
        results.append(
            {
                "fileName": filename,
                **record,
                "derSnr": snr,
                "uri": f"mast:JWST/product/{filename}",
            }
        )
    shown = _display(catalog_sql, files, conditions[:-1], values, output, limit, offset)
    return SearchResult(results, int(total), shown)


def _display(catalog_sql, files, conditions, values, output, limit, offset) -> str:
    """The statement that ran, with its values shown (for the response's ``query``)."""
    where = " AND ".join(conditions + ["product_id IN (SELECT product_id FROM candidates)"])
    for value in values:
        where = where.replace("?", repr(value), 1)
    catalog_sql = " ".join(catalog_sql.split())
    return (
        f"WITH candidates AS ({catalog_sql}) "
        f"SELECT {', '.join(output)} FROM read_parquet('productType=*/seg-*.parquet') "
        f"WHERE {where} LIMIT {limit} OFFSET {offset};"
    )
