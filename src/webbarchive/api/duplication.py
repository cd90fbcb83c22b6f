"""The proposers' duplication check: ``GET /duplication/api/v0.1/search``.

Give a position (``ra=&dec=`` or ``coords=``, any form of
:mod:`webbarchive.positions`) or the name of a planned target
(``target=``), and optionally ``radius`` (arcsec; absent: each visit's
template radius, :mod:`webbarchive.plans.templates`), ``template``,
``optical_elements`` and ``status`` (comma-separated lists, any of them
matches) and ``format`` (json, csv or votable). The answer lists, nearest
first, each matching planned visit (:func:`webbarchive.plans.query.search`).

``POST`` to the same route a target list (CSV or JSON body, or a multipart
``file``; the form is :mod:`webbarchive.plans.targets`'s) with the same
filters and formats: the same rows, with the target's fields first.

Planned visits are public metadata at MAST, whatever the program's exclusive
access, so every caller gets the same answer (an invalid token is still a 401).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine

from webbarchive.api import openapi_docs as doc
from webbarchive.api.deps import catalog, current_user
from webbarchive.api.errors import ApiError, bad_request
from webbarchive.catalog.rights import User
from webbarchive.plans.query import MAX_RADIUS_ARCSEC, Filters, parse_filters, search
from webbarchive.plans.render import COLUMNS, FORMATS, to_csv, to_votable
from webbarchive.plans.targets import FORM as TARGETS_FORM
from webbarchive.plans.targets import QUERY_COLUMNS, check_targets, read_targets
from webbarchive.plans.templates import ALIASES, STATUSES, TEMPLATES
from webbarchive.positions import parse_position
from webbarchive.vo.formats import VOTABLE_MIME

router = APIRouter(tags=["duplication"])

#: Largest target list a POST may carry (bytes): 10,000 targets of generous lines.
MAX_BODY_BYTES = 5_000_000


def _format(format: str | None) -> str:
    output = (format or "json").strip().lower()
    if output not in FORMATS:
        raise bad_request(f"unknown format {format!r}", accepted=list(FORMATS))
    return output


def _answer(output: str, rows: list[dict[str, Any]], columns, body: dict[str, Any]) -> Response:
    if output == "csv":
        return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8")
    if output == "votable":
        from webbarchive.vo.formats import VOTABLE_MIME

        return Response(to_votable(rows, columns), media_type=VOTABLE_MIME)
    from webbarchive.api.errors import JsonResponse

    return JsonResponse(body)


def _list_of(names) -> dict[str, Any]:
    """The schema of a comma-separated list of ``names`` (the parser also takes any case)."""
    one = "(?:" + "|".join(re.escape(name) for name in names) + ")"
    return {"type": "string", "pattern": f"^{one}(?:,{one})*$"}


#: What the filters and the format accept, for /docs (the parsers say it again when wrong).
_SCHEMAS = doc.refine(
    radius={"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_ARCSEC},
    template=_list_of([*TEMPLATES, *ALIASES]),
    status=_list_of(STATUSES),
    format={"type": "string", "enum": list(FORMATS), "default": "json"},
)


_ANSWERS = doc.media(
    "application/json", "text/csv", VOTABLE_MIME, description="the matching visits"
)


def _filters(
    radius: str | None = Query(
        None, description="arcsec; absent: each visit's template radius (NIRCam imaging 280 ...)"
    ),
    template: str | None = Query(None, description="APT templates, comma-separated"),
    optical_elements: str | None = Query(None, description="filters/gratings, comma-separated"),
    status: str | None = Query(None, description="visit statuses, comma-separated"),
) -> Filters:
    """The filters both searches declare (the GET's position aside)."""
    return parse_filters(template, optical_elements, status, radius)


@router.get(
    "/duplication/api/v0.1/search",
    summary="Planned and executed JWST visits near a position (duplication check)",
    openapi_extra=_SCHEMAS,
    responses=_ANSWERS | doc.json_errors(404),
)
def duplication_search(
    ra: str | None = Query(None, description="right ascension (degrees or hh:mm:ss)"),
    dec: str | None = Query(None, description="declination (degrees or dd:mm:ss)"),
    coords: str | None = Query(None, description="'ra,dec' instead of ra and dec"),
    target: str | None = Query(None, description="a planned target's name instead of a position"),
    filters: Filters = Depends(_filters),
    format: str | None = Query("json", description="json, csv or votable"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    output = _format(format)
    with engine.connect() as conn:
        if target not in (None, "") and not any(v not in (None, "") for v in (ra, dec, coords)):
            from webbarchive.plans.query import target_position

            ra_deg, dec_deg = target_position(conn, target)
        else:
            position = parse_position(ra, dec, coords, required=True)
            ra_deg, dec_deg = position.ra, position.dec
        rows = search(conn, ra_deg, dec_deg, filters)
    body = {
        "status": "COMPLETE",
        "position": {"ra": ra_deg, "dec": dec_deg},
        "radius_arcsec": filters.radius_arcsec,
        "count": len(rows),
        "results": rows,
    }
    return _answer(output, rows, COLUMNS, body)


def _too_large() -> ApiError:
    return ApiError(
        413,
        f"the target list is larger than {MAX_BODY_BYTES} bytes",
        accepted=f"at most {MAX_BODY_BYTES} bytes; split the list",
    )


async def _target_list_text(request: Request) -> str:
    """The target list of a POST: a multipart ``file`` (or ``targets``) part, or the
    body itself (CSV or JSON)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _too_large()
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        part = form.get("file") or form.get("targets")
        if part is None:
            raise bad_request(
                "the form holds no target list", accepted=["a 'file' part: " + TARGETS_FORM]
            )
        raw = await part.read() if hasattr(part, "read") else str(part).encode()
    else:
        raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_request("the target list must be UTF-8 text", accepted=TARGETS_FORM) from None


@router.post(
    "/duplication/api/v0.1/search",
    summary="Duplication check of a target list (CSV or JSON body, or a multipart file)",
    openapi_extra=_SCHEMAS,
    responses=_ANSWERS | doc.json_errors(413),
)
async def duplication_check_targets(
    request: Request,
    filters: Filters = Depends(_filters),
    format: str | None = Query("json", description="json, csv or votable"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    """Each target of the list against the planned visits: GET's rows, with the
    target's fields (``query_*``) first; JSON groups them per target."""
    output = _format(format)
    text = await _target_list_text(request)
    targets = read_targets(text)
    rows = await run_in_threadpool(_check, engine, targets, filters)
    per_target = {t.index: {"index": t.index, "name": t.name, "ra": t.ra, "dec": t.dec,
                            "count": 0, "results": []} for t in targets}  # fmt: skip
    for row in rows:
        entry = per_target[row["query_index"]]
        entry["count"] += 1
        entry["results"].append(row)
    body = {
        "status": "COMPLETE",
        "radius_arcsec": filters.radius_arcsec,
        "count": len(rows),
        "targets": list(per_target.values()),
    }
    return _answer(output, rows, QUERY_COLUMNS + COLUMNS, body)


def _check(engine: Engine, targets, filters) -> list[dict]:
    with engine.connect() as conn:
        return check_targets(conn, targets, filters)
