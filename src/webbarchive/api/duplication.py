"""The proposers' duplication check: ``GET /duplication/api/v0.1/search``.

Give a position (``ra=&dec=`` or ``coords=``, any form of
:mod:`webbarchive.positions`) or the name of a planned target
(``target=``), and optionally ``radius`` (arcsec; absent: each visit's
template radius, :mod:`webbarchive.plans.templates`), ``template``,
``optical_elements`` and ``status`` (comma-separated lists, any of them
matches) and ``format`` (json, csv or votable). The answer lists, nearest
first, each matching planned visit (:func:`webbarchive.plans.query.search`).

Planned visits are public metadata at MAST, whatever the program's exclusive
access, so every caller gets the same answer (an invalid token is still a 401).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import Engine

from webbarchive.api.deps import catalog, current_user
from webbarchive.api.errors import bad_request
from webbarchive.catalog.rights import User
from webbarchive.plans.query import parse_filters, search
from webbarchive.positions import parse_position

router = APIRouter(tags=["duplication"])

FORMATS = ("json", "csv", "votable")
COLUMNS = (
    "program",
    "observation",
    "visit",
    "target_name",
    "template",
    "instrument",
    "optical_elements",
    "status",
    "separation_arcsec",
    "s_ra",
    "s_dec",
    "target_ra",
    "target_dec",
    "pm_ra_mas_yr",
    "pm_dec_mas_yr",
    "epoch_jyear",
    "t_plan_start",
    "t_plan_end",
    "calib_level",
    "apt_url",
)


TEXT_COLUMNS = {"target_name", "template", "instrument", "optical_elements", "status", "apt_url"}
INTEGER_COLUMNS = {"program", "observation", "visit", "calib_level"}


def _csv(rows: list[dict[str, Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8")


def _votable(rows: list[dict[str, Any]]) -> Response:
    from astropy.io.votable import from_table
    from astropy.table import MaskedColumn, Table

    from webbarchive.vo.formats import VOTABLE_MIME

    table = Table()
    for name in COLUMNS:
        values = [row[name] for row in rows]
        if name in TEXT_COLUMNS:
            table[name] = MaskedColumn(
                ["" if v is None else str(v) for v in values],
                mask=[v is None for v in values],
                dtype=str,
            )
        elif name in INTEGER_COLUMNS:
            table[name] = np.array(values, dtype=np.int64)
        else:
            table[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    buffer = io.BytesIO()
    from_table(table).to_xml(buffer)
    return Response(buffer.getvalue(), media_type=VOTABLE_MIME)


@router.get(
    "/duplication/api/v0.1/search",
    summary="Planned and executed JWST visits near a position (duplication check)",
)
def duplication_search(
    ra: str | None = Query(None, description="right ascension (degrees or hh:mm:ss)"),
    dec: str | None = Query(None, description="declination (degrees or dd:mm:ss)"),
    coords: str | None = Query(None, description="'ra,dec' instead of ra and dec"),
    target: str | None = Query(None, description="a planned target's name instead of a position"),
    radius: str | None = Query(
        None, description="arcsec; absent: each visit's template radius (NIRCam imaging 280 ...)"
    ),
    template: str | None = Query(None, description="APT templates, comma-separated"),
    optical_elements: str | None = Query(None, description="filters/gratings, comma-separated"),
    status: str | None = Query(None, description="visit statuses, comma-separated"),
    format: str | None = Query("json", description="json, csv or votable"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    output = (format or "json").strip().lower()
    if output not in FORMATS:
        raise bad_request(f"unknown format {format!r}", accepted=list(FORMATS))
    filters = parse_filters(template, optical_elements, status, radius)
    with engine.connect() as conn:
        if target not in (None, "") and not any(v not in (None, "") for v in (ra, dec, coords)):
            from webbarchive.plans.query import target_position

            ra_deg, dec_deg = target_position(conn, target)
        else:
            position = parse_position(ra, dec, coords, required=True)
            ra_deg, dec_deg = position.ra, position.dec
        rows = search(conn, ra_deg, dec_deg, filters)
    if output == "csv":
        return _csv(rows)
    if output == "votable":
        return _votable(rows)
    from webbarchive.api.errors import JsonResponse

    return JsonResponse(
        {
            "status": "COMPLETE",
            "position": {"ra": ra_deg, "dec": dec_deg},
            "radius_arcsec": filters.radius_arcsec,
            "count": len(rows),
            "results": rows,
        }
    )
