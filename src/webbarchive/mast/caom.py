"""The CAOM Mashup services over the catalog: Mast.Caom.Cone,
Mast.Caom.Filtered(.Position), Mast.Caom.Products and Mast.Caom.All."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import Connection, and_, func, select

from webbarchive import positions
from webbarchive.catalog.rights import User, visible_observations, visible_products
from webbarchive.catalog.schema import observations, products
from webbarchive.catalog.sky import angular_distance_deg, observations_in_cone
from webbarchive.mast import columns as C
from webbarchive.mast.filters import FilterError, column_clause, filters_clause, parse_filters
from webbarchive.mast.render import (
    MashupError,
    MashupPage,
    MashupTable,
    count_table,
    is_count,
    selected_columns,
)

MAX_RADIUS_DEG = 30.0


def parse_position(params: dict[str, Any]) -> tuple[float, float, float] | None:
    """``position: "ra, dec, radius"`` or ``ra``, ``dec``, ``radius`` (degrees; RA and
    Dec also sexagesimal), read by the project's one position parser."""
    try:
        if params.get("position") not in (None, ""):
            parts = [p for p in str(params["position"]).replace(",", " ").split() if p]
            if len(parts) != 3:
                raise MashupError(
                    f"position must be 'ra, dec, radius' in degrees (got {params['position']!r})"
                )
            where = positions.parse_position(coords=f"{parts[0]},{parts[1]}")
            radius = positions.parse_radius(parts[2], maximum_deg=MAX_RADIUS_DEG)
        elif "ra" in params or "dec" in params:
            where = positions.parse_position(params.get("ra"), params.get("dec"))
            radius = positions.parse_radius(
                params.get("radius"), default=0.2, maximum_deg=MAX_RADIUS_DEG
            )
        else:
            return None
    except positions.PositionError as exc:  # Mashup answers errors in its own envelope
        raise MashupError(exc.message) from None
    return where.ra, where.dec, radius


def _unknown(name: str, known: list[str]) -> MashupError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return MashupError(f"Unknown column '{name}'.{hint} Filterable columns: {', '.join(known)}")


def _observation_filter(f):
    column = C.OBSERVATION_BY_NAME.get(f.name.lower())
    if column is None:
        raise _unknown(f.name, [c.name for c in C.OBSERVATION_COLUMNS])
    kind = "string" if column.name in ("obsid", "objID") and f.free_text else column.kind
    return column_clause(f, C.observation_expr(column.name), kind)


def _output_columns(raw: Any, with_distance: bool) -> list[C.Column]:
    available = C.OBSERVATION_COLUMNS + ([C.DISTANCE] if with_distance else [])
    names = selected_columns(raw)
    if names is None:
        return available
    by_name = {c.name.lower(): c for c in available}
    missing = [n for n in names if n.lower() not in by_name]
    if missing:
        raise _unknown(missing[0], [c.name for c in available])
    return [by_name[n.lower()] for n in names]


def _observation_select(cols):
    """(the SQL columns of ``cols``, a SELECT of ``obsid`` then them)."""
    sql_cols = [c for c in cols if c.name != "distance"]
    exprs = [C.observation_expr(c.name).label(c.name) for c in sql_cols]
    return sql_cols, select(observations.c.obsid.label("_key"), *exprs)


def _render_observations(conn, obsids: list[int], cols, distances) -> list[dict[str, Any]]:
    sql_cols, statement = _observation_select(cols)
    by_id = {row[0]: row for row in conn.execute(statement.where(observations.c.obsid.in_(obsids)))}
    return _rendered([by_id[obsid] for obsid in obsids], sql_cols, cols, distances)


def _rendered(rows, sql_cols, cols, distances) -> list[dict[str, Any]]:
    """Rows of ``(obsid, *sql_cols)`` as Mashup dicts of ``cols``."""
    # Per column, decided once per page (not per cell): where its value sits in
    # the row (None: the distance) and whether it travels as text.
    position = {c.name: i for i, c in enumerate(sql_cols, start=1)}
    plan = [
        (c.name, position.get(c.name), C.wire_type(c) == "string" and c.kind in ("long", "int"))
        for c in cols
    ]
    out = []
    for row in rows:
        item = {}
        for name, at, as_text in plan:
            if at is None:
                item[name] = distances.get(row[0])
                continue
            value = row[at]
            item[name] = str(value) if as_text and value is not None else value
        out.append(item)
    return out


def sort_keys(conn: Connection, name: str, descending: bool = False) -> list:
    """ORDER BY keys for the observation column ``name``: empty values last in
    either direction, text in code-point order on both backends, obsid to break ties."""
    column = C.OBSERVATION_BY_NAME.get(name.lower())
    if column is None:
        raise _unknown(name, [c.name for c in C.OBSERVATION_COLUMNS])
    expr = C.observation_expr(column.name)
    if conn.dialect.name == "postgresql" and column.kind == "string":
        expr = expr.collate("C")
    ordered = expr.desc() if descending else expr.asc()
    return [expr.is_(None), ordered, observations.c.obsid]


def observations_query(
    conn: Connection,
    user: User,
    params: dict[str, Any],
    page: MashupPage,
    *,
    positional: bool,
    order: tuple[str, bool] | None = None,
) -> MashupTable:
    """Mast.Caom.Cone / Filtered / Filtered.Position, including COUNT_BIG(*).

    ``order`` is ``(column, descending)`` for the portal's sortable table; by
    default rows come by distance (positional) or by obsid, as MAST's do."""
    try:
        where = filters_clause(parse_filters(params.get("filters")), _observation_filter)
    except FilterError as exc:
        raise MashupError(str(exc)) from None
    visible = visible_observations(user)
    where = visible if where is None else and_(where, visible)
    position = parse_position(params) if positional else None
    if positional and position is None:
        raise MashupError("this service needs a position: 'ra, dec, radius' in degrees")
    distances: dict[int, float | None] = {}
    if position is not None:
        ra, dec, radius = position
        distances = {}
        centres = conn.execute(
            select(observations.c.obsid, observations.c.s_ra, observations.c.s_dec).where(
                observations.c.obsid.in_(observations_in_cone(conn, ra, dec, radius, where=visible))
            )
        )
        for obsid, s_ra, s_dec in centres:
            distances[obsid] = (
                None if s_ra is None else float(angular_distance_deg(ra, dec, s_ra, s_dec)) * 3600.0
            )
        ids = select(observations.c.obsid).where(where, observations.c.obsid.in_(list(distances)))
        if order is None or order[0] == "distance":
            ordered = sorted(
                conn.execute(ids).scalars(),
                key=lambda i: (distances[i] is None, distances[i] or 0.0, i),
            )
            if order is not None and order[1]:
                ordered.reverse()
        else:
            ordered = list(conn.execute(ids.order_by(*sort_keys(conn, *order))).scalars())
        total = len(ordered)
        page_ids = ordered[page.offset : page.offset + page.pagesize]
    else:
        total = conn.execute(
            select(func.count()).select_from(observations).where(where)
        ).scalar_one()
        if is_count(params.get("columns")):
            return count_table(total)
        cols = _output_columns(params.get("columns"), False)
        sql_cols, statement = _observation_select(cols)
        rows = conn.execute(  # the page with its columns: one statement, not ids then rows
            statement.where(where)
            .order_by(*(sort_keys(conn, *order) if order else [observations.c.obsid]))
            .offset(page.offset)
            .limit(page.pagesize)
        ).all()
        fields = [{"name": c.name, "type": C.wire_type(c)} for c in cols]
        return MashupTable(fields, _rendered(rows, sql_cols, cols, {}), total)
    if is_count(params.get("columns")):
        return count_table(total)
    cols = _output_columns(params.get("columns"), True)
    fields = [{"name": c.name, "type": C.wire_type(c)} for c in cols]
    return MashupTable(fields, _render_observations(conn, page_ids, cols, distances), total)


def _obsids(raw: Any) -> list[int]:
    items = raw if isinstance(raw, list) else str(raw if raw is not None else "").split(",")
    ids = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            ids.append(int(text))
        except ValueError:
            raise MashupError(
                f"obsid must be product group ids (the obsid column, not obs_id); got {text!r}"
            ) from None
    if not ids:
        raise MashupError("Mast.Caom.Products needs obsid: one id or a comma-separated list")
    return sorted(set(ids))


def products_query(
    conn: Connection, user: User, params: dict[str, Any], page: MashupPage
) -> MashupTable:
    """Mast.Caom.Products: each product once, however often its observation is named."""
    ids = _obsids(params.get("obsid"))
    where = and_(products.c.obsid.in_(ids), visible_products(user), visible_observations(user))
    joined = products.join(observations, products.c.obsid == observations.c.obsid)
    total = conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one()
    rows = conn.execute(
        select(*C.product_select_columns())
        .select_from(joined)
        .where(where)
        .order_by(products.c.obsid, products.c.filename)
        .offset(page.offset)
        .limit(page.pagesize)
    ).mappings()
    fields = [{"name": c.name, "type": C.wire_type(c)} for c in C.PRODUCT_COLUMNS]
    return MashupTable(fields, [dict(r) for r in rows], total)


HISTOGRAM_COLUMNS = ("obs_collection", "instrument_name", "dataproduct_type", "calib_level")


def all_histograms(conn: Connection, user: User) -> dict[str, Any]:
    """Mast.Caom.All in extjs form: a histogram per facet column
    (``list_missions`` reads the obs_collection keys)."""
    visible = visible_observations(user)
    columns = []
    for name in HISTOGRAM_COLUMNS:
        col = observations.c[name]
        counts = conn.execute(
            select(col, func.count()).where(visible).group_by(col).order_by(col)
        ).all()
        hist = {"hist": [{"key": str(k), "count": n} for k, n in counts if k is not None]}
        hist.update({str(k): n for k, n in counts if k is not None})
        columns.append({"text": name, "dataIndex": name, "ExtendedProperties": {"histObj": hist}})
    total = conn.execute(select(func.count()).select_from(observations).where(visible)).scalar_one()
    return {
        "status": "COMPLETE",
        "msg": "",
        "data": {
            "name": "Mast.Caom.All",
            "Tables": [
                {
                    "name": "Mast.Caom.All",
                    "ExtendedProperties": {"discreteHistogram": {}, "continuousHistogram": {}},
                    "Columns": columns,
                    "Fields": [],
                    "Rows": [],
                    "rowsTotal": total,
                }
            ],
        },
    }
