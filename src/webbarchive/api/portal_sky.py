"""The portal's sky view: Aladin Lite v3, served from node_modules, and the
archive's own mosaics as its image layers offline.

Aladin Lite (npm ``aladin-lite``, pinned in package.json, installed by
``npm ci``; never copied into the repository) is one ES module of about
2.4 MB with its WebAssembly inlined. The search page's ``static/sky.js``
imports it from here and draws the results' footprints; the survey under them
is the ``WEBBARCHIVE_PORTAL_SKY_SURVEY`` setting. Empty (an archive without
internet access), the view draws the mosaics the person may read that overlap
it (``/portal/sky/mosaics`` lists them with their WCS, ``/portal/sky/mosaic.png``
draws one: :mod:`webbarchive.previews.sky_layers`), over a coordinate grid.

Rights: the listing names only mosaics the person may read (a position tells
nothing of hidden data); the picture of an exclusive-access mosaic is refused
as its download is (401 anonymous, 403 stranger), without a byte of it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import Engine

from webbarchive.api import deps
from webbarchive.api.errors import ApiError, bad_request, not_found
from webbarchive.api.openapi_docs import json_errors
from webbarchive.api.portal import portal_user
from webbarchive.previews import sky_layers

router = APIRouter(tags=["portal"])

ALADIN_DIST = "aladin-lite/dist"
ALADIN_FILES = ("aladin.js",)


@router.get(
    "/portal/vendor/aladin-lite/{name}", summary="Portal: Aladin Lite v3, from node_modules"
)
def aladin(request: Request, name: str) -> Response:
    if name not in ALADIN_FILES:
        raise ApiError(404, f"no Aladin Lite file {name!r}", accepted=list(ALADIN_FILES))
    path = Path(request.app.state.settings.portal_vendor) / ALADIN_DIST / name
    if not path.is_file():
        raise ApiError(404, f"Aladin Lite is not installed at {path}: run 'npm ci'")
    return FileResponse(path, media_type="text/javascript")


@router.get(
    "/portal/sky/mosaics",
    summary="Portal: the mosaics you may read that overlap a view, with their pictures' WCS",
    responses=json_errors(400),
)
def sky_mosaics(
    request: Request,
    ra: float = Query(..., ge=0.0, lt=360.0, description="view centre, right ascension (deg)"),
    dec: float = Query(..., ge=-90.0, le=90.0, description="view centre, declination (deg)"),
    radius: float = Query(
        ...,
        gt=0.0,
        le=sky_layers.MAX_RADIUS_DEG,
        description="radius (deg) of the cone holding the view (half its diagonal)",
    ),
    engine: Engine = Depends(deps.catalog),
) -> dict:
    """Up to 12 mosaics (``i2d``, DJA ``drc_sci``), the largest first: for each its
    file, the URL of its picture and the picture's FITS WCS (``NAXIS1``,
    ``CRPIX1``... as Aladin Lite's ``A.image`` takes it)."""
    user, _ = portal_user(request)
    with engine.connect() as conn:
        rows, total = sky_layers.overlapping(conn, ra, dec, radius, user)
    layers = []
    for row in rows:
        try:
            wcs = sky_layers.layer_wcs(row["path"])
        except (sky_layers.LayerError, OSError):
            continue  # an unreadable mosaic is left out, not the view
        layers.append(
            {
                "file": row["filename"],
                "suffix": row["suffix"],
                "url": "/portal/sky/mosaic.png?" + urlencode({"file": row["filename"]}),
                "footprint": [list(v) for v in row["polygon"]],
                "wcs": wcs,
            }
        )
    # total: readable mosaics overlapping the view; truncated: MAX_LAYERS cut the list
    return {"layers": layers, "total": total, "truncated": total > len(rows)}


@router.get(
    "/portal/sky/mosaic.png",
    summary="Portal: one mosaic as a sky-view layer (PNG, grey with alpha)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **json_errors(400, 401, 403, 404, 422)},
)
def sky_mosaic_png(
    request: Request,
    file: str = Query(
        ...,
        min_length=1,
        max_length=255,
        description="product file name of a mosaic (i2d, drc_sci), as /portal/sky/mosaics names it",
    ),
    engine: Engine = Depends(deps.catalog),
) -> Response:
    """The mosaic averaged to at most 1024 pixels a side, asinh-stretched, pixels
    without data transparent; its WCS is the one ``/portal/sky/mosaics`` gives."""
    user, _ = portal_user(request)
    row = deps.readable_product(engine, user, file)
    if row["suffix"] not in sky_layers.MOSAIC_SUFFIXES:
        raise bad_request(
            f"{file} is a {row['suffix']} product, not a mosaic",
            accepted=list(sky_layers.MOSAIC_SUFFIXES),
        )
    try:
        body = sky_layers.layer_png(row["path"])
    except FileNotFoundError:  # as spectra/retrieve answers it
        raise not_found(f"{file} is in the catalog but its file is missing from storage") from None
    except sky_layers.LayerError as exc:
        raise ApiError(422, f"{file} cannot be drawn: {exc}") from None
    return Response(body, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})
