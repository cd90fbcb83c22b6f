"""MastMissions for JWST (``/search/jwst/api/v0.1/``): one row per dataset
(``fileSetName``), its columns the header keywords of the dataset's files.

Condition syntax (astroquery docs/mast/mast_missions.rst), per column:
a bare value is an exact match; ``a,b`` (or a list) is an OR; ``!v`` negates
and negations are ANDed; ``<``, ``>``, ``<=``, ``>=`` compare numbers and ISO
dates; ``a..b`` is an inclusive range; ``*`` is a wildcard.
"""

from __future__ import annotations

import difflib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    func,
    not_,
    or_,
    select,
)

from webbarchive.catalog import keyword_types
from webbarchive.catalog.rights import User, product_release_expr, rights_expr, visible_products
from webbarchive.catalog.schema import keywords, observations, products
from webbarchive.catalog.sky import angular_distance_deg
from webbarchive.errors import InvalidInput
from webbarchive.positions import PositionError, parse_position

DATASET = "fileSetName"
#: Columns returned when the request names none (MAST's JWST defaults, as stored).
DEFAULT_COLUMNS = [
    "fileSetName", "program", "observtn", "visit", "targprop", "targ_ra", "targ_dec",
    "instrume", "exp_type", "detector", "filter", "pupil", "grating", "date_obs",
    "effexptm", "access",
]  # fmt: skip
MAX_LIMIT = 50_000
MAX_RADIUS_ARCSEC = 30 * 60.0
QUAL_TYPE = {"string": "string", "float": "float", "int": "integer"}
INFO_TYPE = {"string": "VARCHAR", "float": "FLOAT", "int": "INTEGER"}
_CACHE_SECONDS = 30.0
_cache: dict[tuple[str, tuple], tuple[float, dict[str, str]]] = {}


#: What a search accepts, said with every refused search.
SEARCH_ACCEPTED = (
    "conditions: [{column: value}] with value exact, 'a,b', '!v', '<v', '>=v', "
    "'a..b' or 'x*'; target ['ra dec'] with radius and radius_units"
)


class MissionsError(InvalidInput):
    """A bad search; answered 400, which astroquery reports as invalid input.
    ``accepted`` is the search syntax unless the raiser says otherwise."""

    def __init__(self, message: str, accepted: object = SEARCH_ACCEPTED) -> None:
        super().__init__(message, accepted)


def viewer_key(user: User) -> tuple:
    """Users who see the same products share an inventory cache entry."""
    return ("admin",) if user.admin else tuple(sorted(user.programs))


def keyword_kinds(conn: Connection, user: User) -> dict[str, str]:
    """Every keyword name of the products ``user`` may read, with its kind
    (:func:`webbarchive.catalog.keyword_types.keyword_kinds`: MAST's table, else
    the stored values), cached for a few seconds per viewer."""
    key = (str(conn.engine.url), viewer_key(user))
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    kinds = keyword_types.keyword_kinds(conn, visible_products(user))
    _cache[key] = (time.monotonic(), kinds)
    return kinds


def column_list(conn: Connection, user: User) -> list[dict[str, Any]]:
    """``column_list?mission=jwst``: every searchable column."""
    entries = [
        _entry(DATASET, "string", "Dataset: the exposure or association the files belong to", True),
        _entry("access", "string", "PUBLIC or EXCLUSIVE_ACCESS, at request time", True),
        _entry("ang_sep", "float", "Angular separation from the search position (arcmin)", False),
        _entry("search_pos", "string", "Search position (RA Dec, degrees)", False),
    ]
    for name, kind in sorted(keyword_kinds(conn, user).items()):
        entries.append(_entry(name, kind, f"{name.upper()} header keyword", True))
    return entries


def _entry(name: str, kind: str, description: str, queryable: bool) -> dict[str, Any]:
    return {
        "field_name": name,
        "description": description,
        "column_name": name,
        "queryable": "yes" if queryable else "no",
        "qual_type": QUAL_TYPE[kind],
        "default_output": "yes" if name in DEFAULT_COLUMNS else "no",
        "indexed": "yes" if name == DATASET else "no",
        "datatype": {"string": "char", "float": "float", "int": "int"}[kind],
    }


# --- conditions ------------------------------------------------------------------------


def _tokens(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("t" if item else "f")
        elif isinstance(item, int | float):
            out.append(repr(item) if isinstance(item, float) else str(item))
        else:
            out += [t.strip() for t in str(item).split(",") if t.strip()]
    return out


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _json_text(text: str) -> str:
    return json.dumps(text).lower()


def _token_clause(text: str, num: ColumnElement, value: ColumnElement, kind: str) -> ColumnElement:
    """One token against a typed column (num for numbers, lower(value) for text)."""
    as_text = kind == "string"
    for op in ("<=", ">=", "<", ">"):
        if text.startswith(op):
            bound = text[len(op) :].strip()
            number = _number(bound)
            target, operand = (
                (num, number)
                if number is not None and not as_text
                else (value, _json_text(bound) if as_text else bound)
            )
            if number is None and not as_text:
                raise MissionsError(f"{op}{bound}: not a number")
            return {
                "<=": target <= operand,
                ">=": target >= operand,
                "<": target < operand,
                ">": target > operand,
            }[op]
    if ".." in text:
        low, high = (p.strip() for p in text.split("..", 1))
        if as_text:
            return and_(value >= _json_text(low), value <= _json_text(high))
        a, b = _number(low), _number(high)
        if a is None or b is None:
            raise MissionsError(f"{text}: a range is <number>..<number>")
        if a > b:  # reversed, it would match nothing: refuse rather than answer empty
            raise MissionsError(f"{text}: the low bound exceeds the high bound (<low>..<high>)")
        return num.between(a, b)
    if "*" in text or "%" in text:
        pattern = text.replace("*", "%").lower()
        return or_(value.like(f'"{pattern}"'), value.like(pattern))
    number = _number(text)
    if not as_text:
        if number is None:
            raise MissionsError(f"{text}: this column holds numbers")
        return num == number
    return value.in_(sorted({_json_text(text), text.lower()}))


def _condition(name: str, raw: Any, pid: ColumnElement, kinds: dict[str, str]) -> ColumnElement:
    tokens = _tokens(raw)
    positives = [t for t in tokens if not t.startswith("!")]
    negatives = [t[1:] for t in tokens if t.startswith("!")]
    if name in (DATASET, "access"):
        column = products.c.fileSetName if name == DATASET else rights_expr(product_release_expr())
        target = func.lower(column)

        def match(t: str) -> ColumnElement:
            if "*" in t:
                return target.like(t.replace("*", "%").lower())
            return target == t.lower()

        clauses = [or_(*[match(t) for t in positives])] if positives else []
        clauses += [not_(match(t)) for t in negatives]
        return and_(*clauses)
    kind = kinds[name]

    def keyword_exists(token_clause) -> ColumnElement:
        k = keywords.alias()
        return exists(
            select(1).where(
                k.c.product_id == pid,
                k.c.name == name,
                token_clause(k.c.num, func.lower(k.c.value)),
            )
        )

    clauses = []
    if positives:
        clauses.append(
            keyword_exists(lambda n, v: or_(*[_token_clause(t, n, v, kind) for t in positives]))
        )
    clauses += [
        not_(keyword_exists(lambda n, v, t=t: _token_clause(t, n, v, kind))) for t in negatives
    ]
    return and_(*clauses)


def _check_column(name: str, known: set[str]) -> None:
    if name not in known:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise MissionsError(
            f"unknown column '{name}'.{hint} See /search/util/api/v0.1/column_list?mission=jwst"
        )


# --- search ------------------------------------------------------------------------------


@dataclass
class Search:
    conditions: list[dict[str, Any]]
    select_cols: list[str]
    limit: int
    offset: int
    sort_by: list[str]
    sort_desc: list[bool]
    position: tuple[float, float] | None
    radius_arcsec: float
    echo: dict[str, Any]


#: Largest offset: it must fit the databases' 64-bit integers.
MAX_OFFSET = 10**12


def parse_search(body: dict[str, Any], known: set[str]) -> Search:
    try:
        limit = int(body.get("limit", 5000))
        offset = int(body.get("offset", 0))
    except (TypeError, ValueError):
        raise MissionsError("limit and offset must be integers") from None
    if not (1 <= limit <= MAX_LIMIT and 0 <= offset <= MAX_OFFSET):
        raise MissionsError(f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET:,}")
    conditions = body.get("conditions") or []
    if isinstance(conditions, dict):
        conditions = [{k: v} for k, v in conditions.items()]
    if not isinstance(conditions, list) or not all(isinstance(c, dict) for c in conditions):
        raise MissionsError("conditions must be a list of {column: value}")
    for condition in conditions:
        for name in condition:
            _check_column(name, known)
    select_cols = [c for c in (body.get("select_cols") or DEFAULT_COLUMNS) if c]
    for name in select_cols:
        _check_column(name, known | {"ang_sep", "search_pos"})
    if DATASET not in select_cols:
        select_cols = [DATASET, *select_cols]
    position = None
    radius_arcsec = 0.0
    targets = body.get("target")
    if targets:
        targets = targets if isinstance(targets, list) else [targets]
        if len(targets) != 1:
            raise MissionsError("give one target position 'ra dec' (degrees)")
        try:
            where = parse_position(coords=str(targets[0]))
        except PositionError as exc:
            raise MissionsError(f"target {targets[0]!r}: {exc.message}") from None
        position = (where.ra, where.dec)
        units = str(body.get("radius_units", "arcminutes")).lower()
        factor = {
            "arcseconds": 1.0,
            "arcsec": 1.0,
            "arcminutes": 60.0,
            "arcmin": 60.0,
            "degrees": 3600.0,
            "deg": 3600.0,
        }.get(units)
        radius = _number(str(body.get("radius", 3)))
        if factor is None or radius is None or not 0 <= radius * factor <= MAX_RADIUS_ARCSEC:
            raise MissionsError(
                "radius must be a number of arcseconds, arcminutes or degrees, at most 30 arcmin"
            )
        radius_arcsec = radius * factor
    sort_by = body.get("sort_by") or (["ang_sep", DATASET] if position else [DATASET])
    sort_by = [sort_by] if isinstance(sort_by, str) else list(sort_by)
    for name in sort_by:
        _check_column(name, known | {"ang_sep"})
    sort_desc = body.get("sort_desc") or [False] * len(sort_by)
    sort_desc = [sort_desc] if isinstance(sort_desc, bool) else list(sort_desc)
    sort_desc = (sort_desc + [False] * len(sort_by))[: len(sort_by)]
    echo = {
        **{k: body.get(k) for k in ("target", "radius", "radius_units") if k in body},
        "offset": offset,
        "limit": limit,
        "sort_by": sort_by,
        "sort_desc": sort_desc,
        "skip_count": bool(body.get("skip_count", False)),
        "select_cols": select_cols,
        "search_key": body.get("search_key") or [],
        "user_fields": body.get("user_fields") or [],
        "conditions": conditions,
    }
    return Search(
        conditions, select_cols, limit, offset, sort_by, sort_desc, position, radius_arcsec, echo
    )


#: The keywords a row's position is read from. A search by position finds a
#: dataset by the position its row reports (TARG_RA/TARG_DEC, as MAST's JWST
#: search), and ``ang_sep`` is the distance to that position.
POSITION_KEYWORDS = ("targ_ra", "targ_dec")


def _matching(user: User, where: list[ColumnElement]) -> Select:
    """The visible files of a dataset that satisfy every condition.

    A dataset is found when one of its files is: a dataset holding PRISM and
    G395H spectra answers a search on either grating, and its row shows the
    file that matched (its representative), so the row agrees with the search.
    """
    return select(
        products.c.fileSetName.label("dataset"), products.c.product_id.label("pid")
    ).where(visible_products(user), products.c.fileSetName.is_not(None), *where)


def _nearest(
    conn: Connection, matching: Select, position: tuple[float, float], radius_arcsec: float
) -> dict[int, float]:
    """``{pid: ang_sep (arcmin)}`` of the nearest matching file of each dataset
    whose TARG_RA/TARG_DEC lies within the radius of ``position`` (deg)."""
    m = matching.subquery()
    k_ra, k_dec = keywords.alias(), keywords.alias()
    ra, dec = position
    radius_deg = radius_arcsec / 3600.0
    rows = conn.execute(
        select(m.c.dataset, m.c.pid, k_ra.c.num.label("ra"), k_dec.c.num.label("dec"))
        .select_from(m)
        .join(k_ra, and_(k_ra.c.product_id == m.c.pid, k_ra.c.name == POSITION_KEYWORDS[0]))
        .join(k_dec, and_(k_dec.c.product_id == m.c.pid, k_dec.c.name == POSITION_KEYWORDS[1]))
        .where(k_ra.c.num.is_not(None), k_dec.c.num.between(dec - radius_deg, dec + radius_deg))
    ).all()
    if not rows:
        return {}
    seps = np.atleast_1d(
        angular_distance_deg(
            ra, dec, np.array([r.ra for r in rows]), np.array([r.dec for r in rows])
        )
    )
    best: dict[str, tuple[float, int]] = {}
    for r, sep in zip(rows, seps, strict=True):
        if sep * 3600.0 <= radius_arcsec:
            best[r.dataset] = min(best.get(r.dataset, (sep, r.pid)), (float(sep), r.pid))
    return {pid: sep * 60.0 for sep, pid in best.values()}


def _sort_key(name: str, pid: ColumnElement, kind: str) -> ColumnElement:
    k = keywords.alias()
    column = k.c.num if kind != "string" else k.c.value
    return select(column).where(k.c.product_id == pid, k.c.name == name).scalar_subquery()


def search(conn: Connection, user: User, body: dict[str, Any]) -> dict[str, Any]:
    kinds = keyword_kinds(conn, user)
    known = set(kinds) | {DATASET, "access"}
    query = parse_search(body, known)
    where = [
        _condition(name, value, products.c.product_id, kinds)
        for condition in query.conditions
        for name, value in condition.items()
    ]
    matching = _matching(user, where)
    separations: dict[int, float] = {}
    if query.position is None:
        m = matching.subquery()
        datasets = (
            select(m.c.dataset, func.min(m.c.pid).label("pid")).group_by(m.c.dataset).subquery()
        )
    else:
        separations = _nearest(conn, matching, query.position, query.radius_arcsec)
        datasets = (
            select(products.c.fileSetName.label("dataset"), products.c.product_id.label("pid"))
            .where(products.c.product_id.in_(list(separations)))
            .subquery()
        )
    pid = datasets.c.pid
    # joined to its file, so that sorting by ``access`` reads the representative's rights
    base = select(datasets.c.dataset, pid).select_from(
        datasets.join(products, products.c.product_id == pid)
    )
    total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    order = []
    for name, desc in zip(query.sort_by, query.sort_desc, strict=True):
        if name == "ang_sep":
            continue  # applied below, in Python
        key = (
            datasets.c.dataset
            if name == DATASET
            else (
                rights_expr(product_release_expr())
                if name == "access"
                else _sort_key(name, pid, kinds[name])
            )
        )
        order.append(key.desc() if desc else key.asc())
    order.append(datasets.c.dataset)
    if query.position is not None and query.sort_by and query.sort_by[0] == "ang_sep":
        ordered = [r.pid for r in conn.execute(base.order_by(*order))]
        ordered.sort(key=lambda p: separations[p], reverse=query.sort_desc[0])
        page_pids = ordered[query.offset : query.offset + query.limit]
    else:
        page_pids = [
            r.pid
            for r in conn.execute(base.order_by(*order).offset(query.offset).limit(query.limit))
        ]
    rows = _render(conn, page_pids, query, kinds, separations)
    info = [{"name": c, "type": INFO_TYPE[_kind(c, kinds)]} for c in query.select_cols]
    if query.position is not None:
        info += [
            {"name": "ang_sep", "type": "FLOAT"},
            {"name": "search_pos", "type": "VARCHAR"},
            {"name": "search_key", "type": "VARCHAR"},
        ]
    return {
        "messages": [],
        "info": info,
        "search_params": query.echo,
        "totalResults": total,
        "results": rows,
    }


def _kind(name: str, kinds: dict[str, str]) -> str:
    if name == "ang_sep":
        return "float"
    return kinds.get(name, "string")


def _render(conn, pids: list[int], query: Search, kinds, separations) -> list[dict[str, Any]]:
    if not pids:
        return []
    base = {
        r.product_id: r
        for r in conn.execute(
            select(
                products.c.product_id,
                products.c.fileSetName,
                rights_expr(product_release_expr()).label("access"),
            ).where(products.c.product_id.in_(pids))
        )
    }
    wanted = [c for c in query.select_cols if c in kinds]
    values: dict[int, dict[str, Any]] = {p: {} for p in pids}
    if wanted:
        for product_id, name, value, num in conn.execute(
            select(keywords.c.product_id, keywords.c.name, keywords.c.value, keywords.c.num).where(
                keywords.c.product_id.in_(pids), keywords.c.name.in_(wanted)
            )
        ):
            values[product_id][name] = keyword_types.render_value(name, value, num, kinds[name])
    out = []
    for p in pids:
        row: dict[str, Any] = {}
        for c in query.select_cols:
            if c == DATASET:
                row[c] = base[p].fileSetName
            elif c == "access":
                row[c] = base[p].access
            elif c in ("ang_sep", "search_pos"):
                continue
            else:
                row[c] = values[p].get(c)
        if query.position is not None:
            pos = f"{query.position[0]} {query.position[1]}"
            row.update(ang_sep=separations.get(p), search_pos=pos, search_key=pos + row[DATASET])
        out.append(row)
    return out


# --- products ----------------------------------------------------------------------------


def list_products(conn: Connection, user: User, dataset_ids: list[str]) -> list[dict[str, Any]]:
    """The visible files of the named datasets, each once."""
    ids = sorted({str(d).strip() for d in dataset_ids if str(d).strip()})
    if not ids:
        raise MissionsError(
            "dataset_ids must name at least one fileSetName",
            accepted={"dataset_ids": ["<fileSetName>", "..."]},
        )
    rows = conn.execute(
        select(
            products.c.fileSetName,
            products.c.filename,
            products.c.instrument,
            products.c.suffix,
            products.c.productType,
            products.c.size,
            products.c.checksum,
            products.c.proposal_id,
            observations.c.filters,
            rights_expr(product_release_expr()).label("access"),
        )
        .select_from(products.join(observations, products.c.obsid == observations.c.obsid))
        .where(products.c.fileSetName.in_(ids), visible_products(user))
        .order_by(products.c.fileSetName, products.c.filename)
    )
    return [
        {
            "product_key": f"{r.fileSetName}_{r.filename}",
            "access": r.access,
            "dataset": r.fileSetName,
            "instrument_name": r.instrument,
            "filters": r.filters,
            "filename": r.filename,
            "uri": f"{r.fileSetName}/{r.filename}",
            "authz_primary_identifier": r.fileSetName,
            "authz_secondary_identifier": r.proposal_id,
            "file_suffix": (r.suffix or "").upper(),
            "category": r.productType,
            "size": r.size,
            "type": "science",
            "md5": r.checksum,
        }
        for r in rows
    ]


def product_filename(product_name: str) -> str:
    """``retrieve_product?product_name=``: ``<dataset>/<file>`` or ``<file>``."""
    return product_name.strip().rsplit("/", 1)[-1]
