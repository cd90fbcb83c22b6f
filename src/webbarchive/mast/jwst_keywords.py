"""Mast.Jwst.Filtered.{Nircam,Niriss,Nirspec,Miri,Fgs,GuideStar}: the JWST
"SI keyword" search, one row per file, over the ``keywords`` table.

Columns: ArchiveFileID, filename, fileSetName, productLevel, then every header
keyword stored for that instrument (dates also as ``*_mjd`` twins, which is
what time-range filters must use, as at MAST).
"""

from __future__ import annotations

import difflib
import time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    not_,
    select,
)

from webbarchive.catalog import keyword_types
from webbarchive.catalog.rights import User, visible_products
from webbarchive.catalog.schema import keywords, products
from webbarchive.mast.columns import Column
from webbarchive.mast.filters import (
    FilterError,
    MashupFilter,
    column_clause,
    keyword_clause,
    parse_filters,
)
from webbarchive.mast.render import (
    MashupError,
    MashupPage,
    MashupTable,
    count_table,
    is_count,
    selected_columns,
)

#: Guider exposures (the GuideStar service); other FGS exposures are Fgs.
GUIDESTAR_EXP_TYPES = (
    "FGS_ID-IMAGE",
    "FGS_ID-STACK",
    "FGS_ACQ1",
    "FGS_ACQ2",
    "FGS_TRACK",
    "FGS_FINEGUIDE",
)
SERVICES = {
    "mast.jwst.filtered.nircam": "NIRCAM",
    "mast.jwst.filtered.niriss": "NIRISS",
    "mast.jwst.filtered.nirspec": "NIRSPEC",
    "mast.jwst.filtered.miri": "MIRI",
    "mast.jwst.filtered.fgs": "FGS",
    "mast.jwst.filtered.guidestar": "GUIDESTAR",
}
FILE_COLUMNS = [
    Column("ArchiveFileID", "long", "Archive File ID", "Database identifier of the file"),
    Column("filename", "string", "File Name", "File name"),
    Column("fileSetName", "string", "File Set Name", "Exposure or association the file belongs to"),
    Column("productLevel", "string", "Product Level", "JWST pipeline level (1b, 2a, 2b, 3)"),
]
_FILE_EXPR = {
    "archivefileid": products.c.product_id,
    "filename": products.c.filename,
    "filesetname": products.c.fileSetName,
    "productlevel": products.c.productLevel,
}
#: keyword_types kinds in the Mashup's spelling, and back.
_MASHUP_KIND = {"string": "string", "int": "long", "float": "float"}
_KIND_OF_MASHUP = {v: k for k, v in _MASHUP_KIND.items()}
_CACHE_SECONDS = 30.0
_config_cache: dict[tuple[str, str, tuple], tuple[float, list[Column]]] = {}


def instrument_clause(service: str) -> ColumnElement:
    instrument = SERVICES[service.lower()]
    guider = func.upper(func.coalesce(products.c.exp_type, "")).in_(GUIDESTAR_EXP_TYPES)
    if instrument == "GUIDESTAR":
        return and_(func.upper(products.c.instrument) == "FGS", guider)
    if instrument == "FGS":
        return and_(func.upper(products.c.instrument) == "FGS", not_(guider))
    return func.upper(products.c.instrument) == instrument


def keyword_columns(conn: Connection, service: str, user: User) -> list[Column]:
    """The keyword columns of ``service``: every keyword name its files that
    ``user`` may read carry, typed as :mod:`webbarchive.catalog.keyword_types`
    says (MAST's table, else float/long when every value is a number, else
    string); hidden files neither add a keyword nor change a type."""
    from webbarchive.mast.missions import viewer_key

    key = (str(conn.engine.url), service.lower(), viewer_key(user))
    cached = _config_cache.get(key)
    if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    kinds = keyword_types.keyword_kinds(
        conn, and_(instrument_clause(service), visible_products(user))
    )
    cols = [
        Column(name, _MASHUP_KIND[kind], name, f"{name.upper()} header keyword")
        for name, kind in kinds.items()
    ]
    _config_cache[key] = (time.monotonic(), cols)
    return cols


def columns_config(conn: Connection, service: str, user: User) -> dict[str, dict[str, Any]]:
    return {c.name: c.config() for c in FILE_COLUMNS + keyword_columns(conn, service, user)}


def _filter_resolver(known: dict[str, Column]):
    def resolve(f: MashupFilter):
        name = f.name.lower()
        if name in _FILE_EXPR:
            kind = "long" if name == "archivefileid" else "string"
            return column_clause(f, _FILE_EXPR[name], kind)
        if name not in known:
            if name.removesuffix("_mjd") in known:
                raise MashupError(f"'{f.name}' is not a keyword of this instrument")
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise MashupError(f"Unknown keyword '{f.name}'.{hint} See columnsconfig for the list.")
        return keyword_clause(products.c.product_id, name, f)

    return resolve


def keyword_query(
    conn: Connection, user: User, service: str, params: dict[str, Any], page: MashupPage
) -> MashupTable:
    columns = keyword_columns(conn, service, user)
    known = {c.name: c for c in columns}
    resolve = _filter_resolver(known)
    try:
        clauses = [
            c for c in (resolve(f) for f in parse_filters(params.get("filters"))) if c is not None
        ]
    except FilterError as exc:
        raise MashupError(str(exc)) from None
    has_keywords = exists(select(1).where(keywords.c.product_id == products.c.product_id))
    where = and_(instrument_clause(service), visible_products(user), has_keywords, *clauses)
    total = conn.execute(select(func.count()).select_from(products).where(where)).scalar_one()
    if is_count(params.get("columns")):
        return count_table(total)
    names = selected_columns(params.get("columns"))
    out_cols = FILE_COLUMNS + columns
    if names is not None:
        by_name = {c.name.lower(): c for c in out_cols}
        missing = [n for n in names if n.lower() not in by_name]
        if missing:
            raise MashupError(f"Unknown column '{missing[0]}'; see columnsconfig for the list")
        out_cols = [by_name[n.lower()] for n in names]
    files = conn.execute(
        select(
            products.c.product_id,
            products.c.filename,
            products.c.fileSetName,
            products.c.productLevel,
        )
        .where(where)
        .order_by(products.c.product_id)
        .offset(page.offset)
        .limit(page.pagesize)
    ).all()
    ids = [f.product_id for f in files]
    values: dict[int, dict[str, Any]] = {i: {} for i in ids}
    wanted = [c.name for c in out_cols if c.name in known]
    if ids and wanted:
        for pid, name, value, num in conn.execute(
            select(keywords.c.product_id, keywords.c.name, keywords.c.value, keywords.c.num).where(
                keywords.c.product_id.in_(ids), keywords.c.name.in_(wanted)
            )
        ):
            kind = _KIND_OF_MASHUP[known[name].kind]
            values[pid][name] = keyword_types.render_value(name, value, num, kind)
    rows = []
    for f in files:
        base = {
            "ArchiveFileID": f.product_id,
            "filename": f.filename,
            "fileSetName": f.fileSetName,
            "productLevel": f.productLevel,
        }
        rows.append(
            {
                c.name: base[c.name] if c.name in base else values[f.product_id].get(c.name)
                for c in out_cols
            }
        )
    fields = [{"name": c.name, "type": "int" if c.kind == "long" else c.kind} for c in out_cols]
    return MashupTable(fields, rows, total)
