"""The Dawn JWST Archive imaging tools: ``/assoc``, ``/exposures``, ``/assoc_mosaic``
and ``/thumb``, at DJA's paths and with DJA's parameters, so scripts written for
grizli-cutout.herokuapp.com work by changing the host.

Positions: ``ra=&dec=``, ``coords=`` or ``coord=`` (decimal or sexagesimal), read by
:func:`webbarchive.positions.parse_position`. Regions: a cone of ``arcmin``
(default 1) or ``polygon=rect(ra,dec,arcmin)``, a box of half-width ``arcmin``
with great-circle edges (spherical: right across RA 0/360 and at the poles,
unlike DJA's planar queries). Data rights: every query goes through
:mod:`webbarchive.catalog.rights`; exclusive-access exposures and mosaics do not
exist for a user who may not read them (a position or listing never answers 401/403,
and the filters named in errors are those the user can see); only ``metafile=``,
which names a product, may be 401/403.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from webbarchive.api import openapi_docs as doc
from webbarchive.api.deps import catalog, current_user
from webbarchive.api.errors import ApiError, bad_request
from webbarchive.api.params import Page, paging_headers, product_uri
from webbarchive.catalog import sky
from webbarchive.catalog.rights import User
from webbarchive.dja.imaging import figures, queries, render, thumbnail, thumbs
from webbarchive.dja.imaging.geometry import MAX_ARCMIN, Region, polygon_text
from webbarchive.dja.imaging.names import FILTER_NAME, pivot_um
from webbarchive.dja.imaging.tables import EXPOSURE_COLUMNS
from webbarchive.positions import Position, parse_position

router = APIRouter(tags=["DJA imaging tools"])

DOWNLOAD = "/api/v0.1/Download/file"
DEFAULT_ARCMIN = 1.0
DEFAULT_LIMIT = 10_000
MAX_THUMB_SIZE_ARCSEC = 60.0
_RECT = re.compile(r"^\s*rect\s*\(([^)]*)\)\s*$", re.I)
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f", ""}


# --- parameters --------------------------------------------------------------------


def _float(name: str, value, low: float | None = None, high: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be a number (got {value!r})") from None
    if (
        not math.isfinite(number)
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        raise bad_request(f"{name} must be within [{low}, {high}] (got {value!r})")
    return number


def _bool(name: str, value: str | None, default: bool = False) -> bool:
    """Real boolean parsing (DJA tests the raw string, so asinh=False enabled asinh)."""
    if value is None:
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise bad_request(f"{name} must be true or false (got {value!r})", accepted=["true", "false"])


def _names(value: str | None) -> list[str]:
    return [v.strip() for v in re.split(r"[,\s]+", value or "") if v.strip()]


def _filters(params) -> list[str]:
    """``filters=``: DJA filter names in any case, full (``F200W-CLEAR``) or by band
    (``f200w``), as :func:`~webbarchive.dja.imaging.names.filter_matches` reads them."""
    names = _names(params.get("filters"))
    bad = [n for n in names if not FILTER_NAME.match(n)]
    if bad:
        raise bad_request(
            f"cannot read the filter names {bad}",
            accepted="DJA filter names, comma-separated: F200W-CLEAR, f200w, F770W",
        )
    return names


def _region(params, default_arcmin: float = DEFAULT_ARCMIN) -> Region:
    """The query region from ``polygon=rect(ra,dec,arcmin)`` or a position and ``arcmin``."""
    polygon = params.get("polygon")
    if polygon:
        match = _RECT.match(polygon)
        parts = [p.strip() for p in match.group(1).split(",")] if match else []
        if len(parts) != 3:
            raise bad_request(
                f"cannot read polygon={polygon!r}",
                accepted=["rect(<ra>,<dec>,<half-width arcmin>)"],
            )
        position = parse_position(coords=f"{parts[0]},{parts[1]}")
        half = _float("rect half-width (arcmin)", parts[2], 0.0, MAX_ARCMIN)
        return Region("rect", position.ra, position.dec, half / 60.0)
    position = _position(params)
    arcmin = params.get("arcmin")
    radius = default_arcmin if arcmin in (None, "") else _float("arcmin", arcmin, 0.0, MAX_ARCMIN)
    return Region("cone", position.ra, position.dec, radius / 60.0)


def _position(params) -> Position:
    return parse_position(
        params.get("ra"), params.get("dec"), params.get("coords"), params.get("coord")
    )


def _output(params, default: str, accepted: dict[str, str]) -> str:
    value = (params.get("output") or default).strip().lower()
    if value not in accepted:
        raise bad_request(f"unknown output={value!r}", accepted=sorted(accepted))
    return accepted[value]


def _page(params, default: int = DEFAULT_LIMIT) -> Page:
    return Page.parse(params.get("limit"), params.get("offset"), default=default)


def _paged(rows: list, page: Page) -> tuple[list, dict[str, str]]:
    window, paging = page.window(rows)
    return window, paging_headers(paging)


def _note(headers: dict[str, str]) -> str:
    note = f"{headers['X-Returned']} of {headers['X-Total-Count']} rows"
    if headers["X-Truncated"] == "true":
        note += " (truncated: use limit= and offset= to page)"
    return note


def _png(body: bytes) -> Response:
    return Response(body, media_type="image/png")


def _csv(text: str, headers: dict[str, str]) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


def _corners(row: dict) -> list[tuple[float, float]]:
    return [(row[f"ra{i}"], row[f"dec{i}"]) for i in range(1, 5)]


def _footprints_figure(region: Region, exposures: list[dict], title: str) -> Response:
    """PNG of the exposures' footprints on the sky, one colour per filter."""
    groups: dict[str, list] = defaultdict(list)
    for row in exposures:
        groups[row["filter"] or "?"].append(_corners(row))
    return _png(figures.footprints_png(region, groups, title))


def _describe(region: Region) -> str:
    size = region.size_deg * 60.0
    shape = f"radius {size:g}'" if region.kind == "cone" else f"half-width {size:g}'"
    return f"({region.ra:.6f}, {region.dec:.6f}), {region.kind} {shape}"


# --- what /docs shows (seed 003: DJA's own examples) -----------------------------------

_POSITION = (
    doc.number("ra", "right ascension (degrees), with dec", 34.4048289, minimum=0, exclusiveMaximum=360),
    doc.number("dec", "declination (degrees), with ra", -5.22487, minimum=-90, maximum=90),
    doc.text("coords", "position 'ra,dec' in degrees or sexagesimal (instead of ra/dec)",
             "34.4048289,-5.22487"),
    doc.text("coord", "alias of coords", "02:17:37.158936 -05:13:29.53"),
)  # fmt: skip
_FILTERS = doc.text("filters", "DJA filter names, comma-separated", "f115w,f277w,f444w")
_PAGING = (
    doc.integer("limit", "rows per page", DEFAULT_LIMIT, minimum=1, maximum=100_000),
    doc.integer("offset", "first row", 0, minimum=0),
)


def _outputs(*names: str, default: str) -> doc.Param:
    return doc.text("output", f"answer format (default {default})", default, enum=list(names))


_REGION = (
    *_POSITION,
    doc.number("arcmin", "cone radius (arcmin, default 1)", 1, minimum=0, maximum=MAX_ARCMIN),
    doc.text("polygon", "a box rect(<ra>,<dec>,<half-width arcmin>) instead of a cone",
             "rect(34.405,-5.22487,1)"),
    doc.text("instruments", "instrument names, comma-separated", "NIRCAM,MIRI"),
    _FILTERS,
    *_PAGING,
)  # fmt: skip
_TABLES = doc.media("text/html", "text/csv", "image/png", description="the table or figure")
_ERRORS = doc.json_errors(400, 401, 429)
ASSOC = dict(
    openapi_extra=doc.query(*_REGION, _outputs("html", "table", "csv", "figure", "png", default="html")),
    responses=_TABLES | _ERRORS,
    response_class=Response,
)  # fmt: skip
EXPOSURES = dict(
    openapi_extra=doc.query(*_REGION, _outputs("csv", "table", "html", "figure", "png", default="csv")),
    responses=_TABLES | _ERRORS,
    response_class=Response,
)  # fmt: skip
ASSOC_MOSAIC = dict(
    openapi_extra=doc.query(
        *_POSITION[:2],
        doc.text("coords", "ra,dec[,box_arcmin | ,width_arcmin,height_arcmin] (degrees, arcmin)",
                 "34.4048289,-5.22487,1"),
        doc.text("coord", "alias of coords"),
        _FILTERS,
        doc.number("round_epoch", "group epochs by this many days", 30, minimum=1e-6, maximum=1e5),
        _outputs("html", "table", "csv", "figure", "png", default="html"),
        *_PAGING,
    ),
    responses=_TABLES | _ERRORS,
    response_class=Response,
)  # fmt: skip
THUMB = dict(
    openapi_extra=doc.query(
        *_POSITION,
        doc.number("size", "half-width (arcsec), default 4", 4, minimum=0.05,
                   maximum=MAX_THUMB_SIZE_ARCSEC),
        _FILTERS,
        doc.text("default_filters", "a default filter set", "jwst", enum=["hst", "jwst"]),
        doc.number("scl", "RGB scale"), doc.number("rgb_min", "RGB minimum"),
        doc.number("pl", "Lupton stretch"), doc.number("pf", "Lupton Q"),
        doc.text("rgb_scl", "three channel scales r,g,b", "1,1,1"),
        doc.text("asinh", "asinh stretch instead of Lupton RGB", "false", enum=["true", "false"]),
        doc.text("invert", "inverted grey scale", "false", enum=["true", "false"]),
        doc.text("all_filters", "every filter's panel beside the RGB", "false", enum=["true", "false"]),
        doc.text("slit", "ra,dec,PA,width,length (degrees, arcsec, PA east of north)",
                 "34.4048289,-5.22487,30,0.2,3.6"),
        doc.text("nirspec", "outline the MSA shutters of metafile", "true", enum=["true", "false"]),
        doc.text("metafile", "the MSA file (with nirspec=true)", "jw01345061001_01_msa.fits"),
        _outputs("png", "fits", "fits_weight", default="png"),
    ),
    responses=doc.media("image/png", "application/fits", description="the thumbnail or cutout")
    | doc.json_errors(400, 401, 403, 404, 429),
    response_class=Response,
)  # fmt: skip


# --- /assoc and /exposures ----------------------------------------------------------


@router.get("/assoc", **ASSOC)
def assoc(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> Response:
    """DJA associations (program, epoch, instrument, filter, detector) with an exposure
    overlapping the region: HTML by default, ``output=csv`` or ``output=figure`` (PNG).
    Parameters: position (ra/dec, coords, coord), ``arcmin`` (radius, default 1) or
    ``polygon=rect(ra,dec,arcmin)``, ``instruments=``, ``filters=``, ``limit``/``offset``."""
    params = request.query_params
    output = _output(params, "html", {"html": "html", "table": "html", "csv": "csv",
                                      "figure": "figure", "png": "figure"})  # fmt: skip
    region = _region(params)
    page = _page(params)
    with engine.connect() as conn:
        rows, exposures = queries.associations(
            conn, region, user, _names(params.get("instruments")), _filters(params)
        )
    if output == "figure":
        title = (
            f"assoc: {len(rows)} associations, {len(exposures)} exposures near {_describe(region)}"
        )
        return _footprints_figure(region, exposures, title)
    window, headers = _paged(rows, page)
    if output == "csv":
        return _csv(render.csv_text(queries.ASSOC_COLUMNS, window), headers)
    title = f"DJA associations near {_describe(region)}"
    return HTMLResponse(
        render.html_table(title, queries.ASSOC_COLUMNS, window, note=_note(headers)),
        headers=headers,
    )


@router.get("/exposures", **EXPOSURES)
def exposures(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> Response:
    """Level-2 exposures whose footprint overlaps the region, with DJA's
    ``exposure_files`` columns: CSV by default, ``output=table`` (HTML) or
    ``output=figure`` (PNG). Same parameters as ``/assoc``."""
    params = request.query_params
    output = _output(params, "csv", {"csv": "csv", "table": "html", "html": "html",
                                     "figure": "figure", "png": "figure"})  # fmt: skip
    region = _region(params)
    page = _page(params)
    with engine.connect() as conn:
        rows = queries.exposures(
            conn, region, user, _names(params.get("instruments")), _filters(params)
        )
    if output == "figure":
        return _footprints_figure(region, rows, f"exposures: {len(rows)} near {_describe(region)}")
    window, headers = _paged(rows, page)
    if output == "csv":
        return _csv(render.csv_text(EXPOSURE_COLUMNS, window), headers)
    title = f"DJA exposures near {_describe(region)}"
    return HTMLResponse(
        render.html_table(title, EXPOSURE_COLUMNS, window, note=_note(headers)), headers=headers
    )


# --- /assoc_mosaic -------------------------------------------------------------------

BOX_FORMS = [
    "coords=ra,dec",
    "coords=ra,dec,box_arcmin",
    "coords=ra,dec,width_arcmin,height_arcmin",
]


def _mosaic_region(params) -> Region:
    """``coords=ra,dec`` (the point), ``ra,dec,box`` (a box of side ``box`` arcmin) or
    ``ra,dec,width,height`` (arcmin)."""
    text = params.get("coords") or params.get("coord")
    if not text:
        position = _position(params)  # ra=&dec= as a courtesy; DJA takes coords only
        return Region("cone", position.ra, position.dec, 0.0)
    parts = [p for p in (text.split(",") if "," in text else text.split()) if p.strip()]
    if len(parts) not in (2, 3, 4):
        raise bad_request(f"cannot read coords={text!r}", accepted=BOX_FORMS)
    position = parse_position(coords=f"{parts[0]},{parts[1]}")
    if len(parts) == 2:
        return Region("cone", position.ra, position.dec, 0.0)
    width = _float("box width (arcmin)", parts[2], 0.0, 2 * MAX_ARCMIN)
    height = (
        width if len(parts) == 3 else _float("box height (arcmin)", parts[3], 0.0, 2 * MAX_ARCMIN)
    )
    return Region("rect", position.ra, position.dec, width / 120.0, height / 120.0)


def _mosaic_row(row: dict, base: str) -> dict:
    out = {c: row.get(c) for c in queries.MOSAIC_COLUMNS}
    polygon = sky.parse_stcs(row["footprint"]) if row.get("footprint") else None
    out["footprint"] = polygon_text(polygon) if polygon else None
    out["modtime"] = _iso(row.get("modtime"), seconds=True)
    out["dateobs"] = _iso(row.get("expstart"), seconds=True)
    out["sci_url"] = f"{base}{DOWNLOAD}?uri={quote(product_uri(row['file']), safe=':/')}"
    out["wht_url"] = (
        f"{base}{DOWNLOAD}?uri={quote(product_uri(row['wht_file']), safe=':/')}"
        if row.get("wht_file")
        else None
    )
    if row.get("ra") is not None:
        query = urlencode({"coords": f"{row['ra']:.6f},{row['dec']:.6f}",
                           "filters": row["filter"].lower(), "size": 4})  # fmt: skip
        out["preview"] = f"{base}/thumb?{query}"
    return out


def _iso(mjd: float | None, seconds: bool = False) -> str | None:
    if mjd is None:
        return None
    from astropy.time import Time

    text = Time(mjd, format="mjd", scale="utc").iso
    return text[:19] if seconds else text


@router.get("/assoc_mosaic", **ASSOC_MOSAIC)
def assoc_mosaic(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> Response:
    """Sub-mosaics (one per association) covering a point or box, by observing epoch:
    ``coords=ra,dec[,box_arcmin | ,width_arcmin,height_arcmin]``, ``filters=``,
    ``round_epoch=<days>`` (groups epochs), ``output=html|csv|figure``. ``file`` links
    to the sci image and ``wht_url`` to the inverse variance, through the download
    endpoint."""
    params = request.query_params
    output = _output(params, "html", {"html": "html", "table": "html", "csv": "csv",
                                      "figure": "figure", "png": "figure"})  # fmt: skip
    region = _mosaic_region(params)
    round_epoch = params.get("round_epoch")
    days = (
        None if round_epoch in (None, "") else _float("round_epoch (days)", round_epoch, 1e-6, 1e5)
    )
    page = _page(params)
    with engine.connect() as conn:
        rows = queries.mosaics(conn, region, user, _filters(params))
    base = str(request.base_url).rstrip("/")
    table = [_mosaic_row(r, base) for r in rows]
    columns = list(queries.MOSAIC_COLUMNS) + ["sci_url", "wht_url"]
    if days is not None:
        for row in table:
            start = row["expstart"]
            row["epoch"] = None if start is None else round(math.floor(start / days) * days, 6)
        table.sort(
            key=lambda r: (r["epoch"] is None, r["epoch"] or 0.0, r["filter"] or "", r["file"])
        )
        columns.insert(0, "epoch")
    if output == "figure":
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            label = row["filter"]
            if days is not None:
                label += f" epoch {math.floor((row['expstart'] or 0) / days) * days:.0f}"
            groups[label].append(sky.parse_stcs(row["footprint"]))
        title = f"assoc_mosaic: {len(rows)} sub-mosaics at {_describe(region)}"
        return _png(figures.footprints_png(region, groups, title))
    window, headers = _paged(table, page)
    if output == "csv":
        return _csv(render.csv_text(columns, window), headers)
    title = f"DJA sub-mosaics at {_describe(region)}"
    links = {"file": "sci_url", "preview": "preview", "sci_url": "sci_url", "wht_url": "wht_url"}
    return HTMLResponse(
        render.html_table(title, columns, window, links=links, note=_note(headers)),
        headers=headers,
    )


# --- /thumb ----------------------------------------------------------------------------

THUMB_OUTPUTS = {"png": "png", "fits": "fits", "fits_weight": "fits_weight"}


def _floats(name: str, value: str | None, count: int) -> tuple[float, ...] | None:
    if value in (None, ""):
        return None
    parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
    if len(parts) != count:
        raise bad_request(f"{name} needs {count} comma-separated numbers (got {value!r})")
    return tuple(_float(name, p) for p in parts)


def _style(params) -> thumbs.Style:
    style = thumbs.Style()
    explicit = set()
    for name in ("scl", "rgb_min", "pl", "pf"):
        if params.get(name) not in (None, ""):
            setattr(style, name, _float(name, params[name], -1e6, 1e6))
            explicit.add(name)
    rgb = _floats("rgb_scl", params.get("rgb_scl"), 3)
    if rgb is not None:
        style.rgb_scl = rgb
        explicit.add("rgb_scl")
    style.asinh = _bool("asinh", params.get("asinh"))
    style.invert = _bool("invert", params.get("invert"))
    style.explicit = explicit
    return style


def _requested_filters(params) -> list[str] | None:
    if params.get("filters"):
        return [f.lower() for f in _filters(params)]
    default = params.get("default_filters")
    if default:
        key = default.strip().lower()
        if key not in thumbs.DEFAULT_FILTERS:
            raise bad_request(
                f"unknown default_filters={default!r}", accepted=sorted(thumbs.DEFAULT_FILTERS)
            )
        return list(thumbs.DEFAULT_FILTERS[key])
    return None


def _slit(params):
    values = _floats("slit", params.get("slit"), 5)
    if values is None:
        return None
    ra, dec, pa, width, length = values
    if not -90 <= dec <= 90 or width <= 0 or length <= 0 or width > 600 or length > 600:
        raise bad_request(
            f"slit={params['slit']!r} is not a slit",
            accepted=["slit=<ra deg>,<dec deg>,<PA deg>,<width arcsec>,<length arcsec>"],
        )
    return thumbs.slit_corners(ra, dec, pa, width, length)


@router.get("/thumb", **THUMB)
def thumb(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> Response:
    """Thumbnails and cutouts from the drizzled mosaics covering a position.

    ``size`` is DJA's half-width in arcsec (default 4: an 8" image); PNG (default) at
    0.05"/pixel, Lupton RGB unless ``asinh=true``; ``filters=`` or
    ``default_filters=hst|jwst`` (default: every filter there, channels chosen as DJA
    does), ``rgb_scl``, ``rgb_min``, ``pl``, ``pf``, ``scl``, ``invert``,
    ``all_filters`` (monochrome panels and the RGB image side by side),
    ``slit=ra,dec,PA,width,length`` (arcsec, PA east of north),
    ``nirspec=True&metafile=<msa file>`` (its MSA shutters outlined, as DJA does).
    ``output=fits`` gives one Cutout2D per filter (native pixels, WCS), and
    ``output=fits_weight`` adds each filter's inverse-variance (WHT) cutout.
    """
    params = request.query_params
    output = _output(params, "png", THUMB_OUTPUTS)
    position = _position(params)
    size = (
        4.0
        if params.get("size") in (None, "")
        else _float("size (arcsec, half-width)", params["size"], 0.05, MAX_THUMB_SIZE_ARCSEC)
    )
    requested = _requested_filters(params)
    style = _style(params)
    all_filters = _bool("all_filters", params.get("all_filters"))
    slit = _slit(params)
    shutters = _msa_shutters(params, engine, user, position, size)
    point = Region("cone", position.ra, position.dec, 0.0)
    with engine.connect() as conn:
        rows = queries.mosaics(conn, point, user, kinds=("field", "assoc"))
        known = [f.lower() for f in queries.known_filters(conn, user)]
        wht_paths = {}
        best = thumbnail.best_mosaics(rows)
        if output == "fits_weight":
            wht_paths = {k: queries.wht_path(conn, r["wht_product_id"]) for k, r in best.items()}
    where = f"ra={position.ra:.7f}, dec={position.dec:.7f}"
    if requested is not None:
        unknown = [
            f for f in requested if thumbnail.match_filter(f, known) is None and pivot_um(f) is None
        ]
        if unknown:
            raise bad_request(f"unknown filters {unknown}", accepted=known)
    if not rows:  # hidden mosaics do not exist for this user: a position names nothing
        raise ApiError(404, f"No cutout found for {where}: no mosaic covers this position",
                       accepted={"filters_in_archive": known})  # fmt: skip
    chosen = thumbnail.choose_filters(best, requested, output == "png" and not all_filters, where)
    if output in ("fits", "fits_weight"):
        return _fits_response(best, chosen, wht_paths, position, size, output == "fits_weight")
    return _png(
        thumbnail.png(
            best, chosen, position.ra, position.dec, size, style, all_filters, slit, shutters
        )
    )


def _msa_shutters(params, engine: Engine, user: User, position, size: float) -> list[dict]:
    """``nirspec=True&metafile=<MSA file>``: the shutters to outline, as DJA draws them
    (the metafile's own highlighted, others in the cutout dimmed). The MSA file is
    authorized like a download (401/403 in its exclusive access period, 404 unknown)."""
    metafile = (params.get("metafile") or "").strip()
    if not _bool("nirspec", params.get("nirspec")) or not metafile:
        return []
    from webbarchive.api.deps import readable_product
    from webbarchive.dja.spectra.queries import msa_files_named, shutters_of_metafile

    with engine.connect() as conn:
        names = msa_files_named(conn, metafile)
    if not names:
        raise ApiError(404, f"no MSA file named {metafile!r} in this archive",
                       accepted=["jw01345061001_01_msa.fits", "jw01345061001 (DJA's short form)"])  # fmt: skip
    for name in names:
        readable_product(engine, user, name)
    radius = size * 2**0.5 / 3600.0  # the cutout's corners
    with engine.connect() as conn:
        return shutters_of_metafile(conn, user, metafile, position.ra, position.dec, radius)


def _fits_response(best, chosen, wht_paths, position, size, weight: bool) -> Response:
    body = thumbnail.fits_cutouts(best, chosen, wht_paths, position.ra, position.dec, size, weight)
    name = thumbnail.fits_name(position.ra, position.dec)
    return Response(
        body,
        media_type="application/fits",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
