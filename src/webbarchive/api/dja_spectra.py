"""The DJA spectroscopy tools: ``/nirspec_slits``, ``/nirspec_extractions``,
``/nirspec_file_redshift``, ``/nirspec_trace_overlap``, ``/mosfire`` (seed 003,
reference dja-api.md), and the spectra and previews under
``/msaexp-nirspec/extractions/{root}/{file}`` (DJA's S3 layout).

Every route takes the user from :func:`~webbarchive.api.deps.current_user`; queries
keep only rows the user may read, and a named exclusive-access spectrum is answered
401/403 through :func:`~webbarchive.catalog.rights.check_named`.
"""

from __future__ import annotations

import html
import os
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import Engine

from webbarchive.api.deps import catalog, community_rights, current_user
from webbarchive.api.errors import ApiError, bad_request, not_found
from webbarchive.api.params import Page, filename_from_uri, paging_headers
from webbarchive.catalog.rights import CommunityRights, User, check_named
from webbarchive.dja.imaging import render
from webbarchive.dja.spectra import overlap, previews, queries
from webbarchive.dja.spectra.spec_file import is_spec_file, prefix_of
from webbarchive.dja.spectra.tables import (
    EXTRACTION_COLUMNS,
    MOSFIRE_COLUMNS,
    REDSHIFT_COLUMNS,
    SLIT_COLUMNS,
)
from webbarchive.positions import ACCEPTED as POSITION_FORMS
from webbarchive.positions import parse_position, parse_radius

router = APIRouter(tags=["DJA spectroscopy"])

EXTRACTIONS_PATH = "/msaexp-nirspec/extractions"
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
#: Largest query radius (arcsec): a NIRSpec MSA field is 3.6' across.
MAX_SIZE_ARCSEC = 600.0


def _flag(name: str, value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise bad_request(f"{name} must be True or False (got {value!r})", accepted=["True", "False"])


def _choice(name: str, value: str | None, accepted: tuple[str, ...], default: str) -> str:
    text = (value or default).strip().lower()
    if text not in accepted:
        raise bad_request(f"{name}={value!r} is not supported", accepted=list(accepted))
    return text


def _radius(size: str | None, default_arcsec: float) -> float:
    return parse_radius(
        size, unit="arcsec", default=default_arcsec / 3600.0, maximum_deg=MAX_SIZE_ARCSEC / 3600.0
    )


#: Rows per page of the list endpoints (a cone of at most MAX_SIZE_ARCSEC rarely holds more).
DEFAULT_LIMIT = 10_000


def _page(limit: str | None, offset: str | None) -> Page:
    return Page.parse(limit, offset, default=DEFAULT_LIMIT)


def csv_response(
    rows: list[dict[str, Any]], columns: list[str], headers: dict[str, str] | None = None
) -> Response:
    """pandas-style CSV, as DJA answers (:func:`webbarchive.dja.imaging.render.csv_text`)."""
    return Response(
        render.csv_text(columns, rows), media_type="text/csv; charset=utf-8", headers=headers
    )


def json_response(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
        headers=headers,
    )


def pandas_json(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, dict[str, Any]]:
    """``{"column": {"0": value, ...}}``: pandas' default ``to_json`` orient, as DJA answers."""
    return {c: {str(i): row.get(c) for i, row in enumerate(rows)} for c in columns}


def html_table(
    title: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    raw: set[str] = frozenset(),
    paging: dict[str, Any] | None = None,
    links: dict[str, str] | None = None,
) -> Response:
    note = f"{len(rows)} rows"
    if paging is not None:
        note = f"{paging['returned']} of {paging['total']} rows"
        if paging["truncated"]:
            note += " (truncated: use limit= and offset= to page)"
    return Response(
        render.html_table(title, columns, rows, links=links, note=note, raw=raw),
        media_type="text/html; charset=utf-8",
        headers=None if paging is None else paging_headers(paging),
    )


# --- /nirspec_slits -----------------------------------------------------------------


@router.get("/nirspec_slits", summary="NIRSpec MSA shutters covering a position")
def nirspec_slits(
    ra: str | None = None,
    dec: str | None = None,
    coords: str | None = None,
    coord: str | None = None,
    size: str | None = Query(None, description="query radius in arcsec (default 1)"),
    count: str | None = Query(None, description="True: counts by program, grating, filter"),
    output: str | None = Query(None, description="csv (default) or json"),
    limit: str | None = Query(None, description=f"rows per page (default {DEFAULT_LIMIT})"),
    offset: str | None = Query(None, description="first row (default 0)"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
    policy: CommunityRights = Depends(community_rights),
) -> Response:
    """Shutter footprints (sky polygons from the exposure pointing and the SIAF).
    Paging in the X-Total-Count, X-Returned and X-Truncated headers."""
    position = parse_position(ra, dec, coords, coord)
    radius = _radius(size, 1.0)
    summarise = _flag("count", count)
    fmt = _choice("output", output, ("csv", "json"), "csv")
    page = _page(limit, offset)
    with engine.connect() as conn:
        rows = queries.slits_in_cone(conn, user, position.ra, position.dec, radius, policy)
    if summarise:
        rows, columns = queries.slit_counts(rows), ["program", "count", "grating", "filter"]
    else:
        columns = SLIT_COLUMNS
    rows, paging = page.window(rows)
    if fmt == "json":
        return json_response(pandas_json(rows, columns), paging_headers(paging))
    return csv_response(rows, columns, paging_headers(paging))


# --- /nirspec_extractions -----------------------------------------------------------


def _links(row: dict[str, Any]) -> dict[str, str]:
    base = f"{EXTRACTIONS_PATH}/{quote(row['root'] or '_')}"
    prefix = quote(prefix_of(row["file"]))
    return {
        "fits": f"{base}/{quote(row['file'])}",
        "fnu": f"{base}/{prefix}.fnu.png",
        "flam": f"{base}/{prefix}.flam.png",
    }


@router.get(
    "/nirspec_extractions", summary="msaexp NIRSpec spectra near a position or of a file's source"
)
def nirspec_extractions(
    ra: str | None = None,
    dec: str | None = None,
    coords: str | None = None,
    coord: str | None = None,
    size: str | None = Query(None, description="query radius in arcsec (default 1)"),
    file: str | None = Query(None, description="a spectrum file: every spectrum of its source"),
    output: str | None = Query(None, description="csv (default), html or json"),
    limit: str | None = Query(None, description=f"rows per page (default {DEFAULT_LIMIT})"),
    offset: str | None = Query(None, description="first row (default 0)"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
    policy: CommunityRights = Depends(community_rights),
) -> Response:
    fmt = _choice("output", output, ("csv", "html", "json"), "csv")
    page = _page(limit, offset)
    with engine.connect() as conn:
        if file not in (None, ""):
            name = _spec_name(file)
            this = _readable_extraction(conn, user, name, policy)
            rows = (
                queries.spectra_of_source(conn, user, this["objid"], policy)
                if this["objid"]
                else [this]
            )
        else:
            position = parse_position(ra, dec, coords, coord)
            rows = queries.extractions_in_cone(
                conn, user, position.ra, position.dec, _radius(size, 1.0), policy
            )
    rows, paging = page.window(rows)
    headers = paging_headers(paging)
    if fmt == "json":
        return json_response([{c: r.get(c) for c in EXTRACTION_COLUMNS} for r in rows], headers)
    if fmt == "html":
        shown = []
        for row in rows:
            links = _links(row)
            shown.append({**row,
                "file": f"<a href='{links['fits']}'>{html.escape(row['file'])}</a>",
                "fnu": f"<img src='{links['fnu']}' height=150>",
                "flam": f"<img src='{links['flam']}' height=150>",
            })  # fmt: skip
        columns = [*EXTRACTION_COLUMNS, "fnu", "flam"]
        return html_table(
            "nirspec_extractions", shown, columns, raw={"file", "fnu", "flam"}, paging=paging
        )
    return csv_response(rows, EXTRACTION_COLUMNS, headers)


def _spec_name(value: str) -> str:
    name = filename_from_uri(value)
    if not is_spec_file(name):
        raise bad_request(
            f"{name!r} is not an msaexp spectrum file name",
            accepted=["{root}_{grating}-{filter}_{program}_{srcid}.spec.fits[.gz]"],
        )
    return name


def _readable_extraction(conn, user: User, name: str, policy: CommunityRights) -> dict[str, Any]:
    row = queries.extraction_by_file(conn, user, name, policy)
    if row is not None:
        return row
    missing = f"no msaexp spectrum named {name!r} in this archive"
    check_named(user, queries.extraction_exists(conn, name, policy), name, missing)
    raise not_found(missing)  # not reached: a row this user may read was found above


# --- /nirspec_file_redshift -----------------------------------------------------------


@router.get("/nirspec_file_redshift", summary="Merged redshift of a spectrum's source")
def nirspec_file_redshift(
    file: str | None = Query(None, description="an msaexp spectrum file name"),
    output: str | None = Query(None, description="csv (default) or json"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
    policy: CommunityRights = Depends(community_rights),
) -> Response:
    if file in (None, ""):
        raise bad_request("missing parameter 'file'", accepted=["file=<spectrum>.spec.fits"])
    fmt = _choice("output", output, ("csv", "json"), "csv")
    name = _spec_name(file)
    with engine.connect() as conn:
        _readable_extraction(conn, user, name, policy)
        row = queries.file_redshift(conn, user, name, policy)
    if fmt == "json":
        return json_response(pandas_json([row], REDSHIFT_COLUMNS))
    return csv_response([row], REDSHIFT_COLUMNS)


# --- /nirspec_trace_overlap -----------------------------------------------------------


@router.get("/nirspec_trace_overlap", summary="Traces that may overlap a spectrum's trace")
def nirspec_trace_overlap(
    spec_file: str | None = Query(None, description="an msaexp spectrum file name"),
    exposure: str | None = Query(
        None, description="0-based index of the input exposure (default 0)"
    ),
    output: str | None = Query(None, description="png (default figure) or json"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
    policy: CommunityRights = Depends(community_rights),
) -> Response:
    if spec_file in (None, ""):
        raise bad_request(
            "missing parameter 'spec_file'", accepted=["spec_file=<spectrum>.spec.fits"]
        )
    fmt = _choice("output", output, ("png", "figure", "json"), "png")
    try:
        index = 0 if exposure in (None, "") else int(exposure)
    except ValueError:
        raise bad_request(f"exposure must be an integer (got {exposure!r})") from None
    name = _spec_name(spec_file)
    with engine.connect() as conn:
        _readable_extraction(conn, user, name, policy)
        traces = queries.traces_of(conn, name)
        if not traces:
            raise not_found(f"{name} records no input exposures, so its trace is unknown")
        if not 0 <= index < len(traces):
            raise bad_request(
                f"exposure={index} is out of range for {name}",
                accepted=f"0..{len(traces) - 1}",
            )
        primary = traces[index]
        others = queries.traces_on_exposure(
            conn, user, primary["exposure"], primary["detector"], policy
        )
    offsets = overlap.yoffsets(primary, others)
    if fmt == "json":
        return json_response(
            {"spec_file": name, "exposure": primary["exposure"], "yoffset": offsets}
        )
    return Response(overlap.figure_png(primary, others, offsets), media_type="image/png")


# --- /mosfire ---------------------------------------------------------------------------


@router.get("/mosfire", summary="Legacy MOSFIRE spectra near a position")
def mosfire(
    request: Request,
    ra: str | None = None,
    dec: str | None = None,
    coords: str | None = None,
    coord: str | None = None,
    sep: str | None = Query(None, description="search radius in arcsec (default 10)"),
    mode: str | None = Query(None, description="table (default, HTML) or json"),
    limit: str | None = Query(None, description=f"rows per page (default {DEFAULT_LIMIT})"),
    offset: str | None = Query(None, description="first row (default 0)"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    position = parse_position(ra, dec, coords, coord)
    radius = _radius(sep, 10.0)
    fmt = _choice("mode", mode, ("table", "json", "csv"), "table")
    page = _page(limit, offset)
    with engine.connect() as conn:
        rows = queries.mosfire_in_cone(conn, position.ra, position.dec, radius)
    rows, paging = page.window(rows)
    headers = paging_headers(paging)
    if fmt == "json":
        return json_response([{c: r.get(c) for c in MOSFIRE_COLUMNS} for r in rows], headers)
    if fmt == "csv":
        return csv_response(rows, MOSFIRE_COLUMNS, headers)
    # each file links to /mosfire/Spectra/<file>: served here, or redirected to DJA
    base = str(request.base_url).rstrip("/") + MOSFIRE_SPECTRA
    for row in rows:
        if row.get("file"):
            row["url"] = f"{base}/{quote(row['file'])}"
    return html_table("mosfire", rows, MOSFIRE_COLUMNS, paging=paging, links={"file": "url"})


MOSFIRE_SPECTRA = "/mosfire/Spectra"


@router.get(MOSFIRE_SPECTRA + "/{file:path}", summary="A MOSFIRE spectrum that /mosfire lists")
def mosfire_spectrum(
    file: str, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> Response:
    """The spectrum when this archive holds it (``Spectra/<file>`` beside its listing),
    else a redirect to DJA's copy, where the seed says it is. Keck data: public."""
    with engine.connect() as conn:
        named, path = queries.mosfire_spectrum_path(conn, file)
    if not named:
        raise not_found(f"no MOSFIRE listing names {file!r}")
    if path is None:
        return RedirectResponse(queries.MOSFIRE_BUCKET + quote(file), status_code=307)
    return FileResponse(path, media_type="application/fits", filename=os.path.basename(file))


# --- spectra and previews ----------------------------------------------------------------


@router.get(EXTRACTIONS_PATH + "/{root}/{name}", summary="An msaexp spectrum or its preview PNG")
def extraction_file(
    root: str,
    name: str,
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
    policy: CommunityRights = Depends(community_rights),
) -> Response:
    kind = None
    for candidate in previews.KINDS:
        if name.endswith(f".{candidate}.png"):
            kind, prefix = candidate, name[: -len(f".{candidate}.png")]
            break
    with engine.connect() as conn:
        if kind is None:
            row = _readable_extraction(conn, user, _spec_name(name), policy)
        else:
            row = None
            for ending in (".spec.fits", ".spec.fits.gz"):
                row = queries.extraction_by_file(conn, user, prefix + ending, policy)
                if row is not None:
                    break
                hidden = queries.extraction_exists(conn, prefix + ending, policy)
                if hidden is not None:
                    _readable_extraction(conn, user, prefix + ending, policy)
            if row is None:
                raise not_found(f"no msaexp spectrum with prefix {prefix!r} in this archive")
    if (row["root"] or "_") != root:
        raise not_found(f"{row['file']} is under root {row['root']!r}, not {root!r}")
    if not os.path.exists(row["path"]):
        raise ApiError(
            404, f"{row['file']} is in the catalog but its file is missing; re-run ingest"
        )
    if kind is None:
        media = "application/gzip" if row["file"].endswith(".gz") else "application/fits"
        return FileResponse(row["path"], media_type=media, filename=row["file"])
    png = previews.preview(engine, row["path"], row["file"], kind, os.path.getmtime(row["path"]))
    return Response(png, media_type="image/png")


__all__ = ["router", "POSITION_FORMS"]
