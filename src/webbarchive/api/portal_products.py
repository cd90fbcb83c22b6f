"""The portal's product pages: ``/portal/product/<productFilename>`` with every
field of the product, its keywords, its download link and preview, and for
images, cubes and 2-D spectra a view whose stretch the user chooses
(``/portal/product/<productFilename>/image.png``, drawn on the server with
:mod:`webbarchive.previews`: the same stretch as the preview JPEGs).

Rights as for a download: the page and the picture of an exclusive-access
product give 401 to anonymous visitors and 403 to strangers, with nothing of
the product in the answer. The storage path is not shown (it is the server's).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from webbarchive.api import deps
from webbarchive.api.errors import ApiError, bad_request
from webbarchive.api.openapi_docs import html_errors, json_errors, refine
from webbarchive.api.portal import PLOTTED_SUFFIXES, _error, _page, portal_user
from webbarchive.catalog.queries import observation_of_product
from webbarchive.catalog.rights import rights_for
from webbarchive.portal.products import keyword_rows
from webbarchive.previews import store
from webbarchive.previews.draw import DRAWN, IMAGED, PreviewError, encode, image_data
from webbarchive.previews.draw import image_picture as picture_of
from webbarchive.previews.stretch import (
    DEFAULT_LOWER_PERCENT,
    DEFAULT_STRETCH,
    DEFAULT_UPPER_PERCENT,
    STRETCHES,
    Stretch,
    StretchError,
)
from webbarchive.storage import open_storage

router = APIRouter(tags=["portal"])
#: Product fields the page does not show: the storage key is the server's business.
HIDDEN_FIELDS = ("path", "release_mjd")


def _stretch_query(
    stretch: str = Query(DEFAULT_STRETCH, description=f"one of {', '.join(STRETCHES)}"),
    lo: float = Query(DEFAULT_LOWER_PERCENT, description="lower limit, percentile of the pixels"),
    hi: float = Query(DEFAULT_UPPER_PERCENT, description="upper limit, percentile of the pixels"),
    vmin: str = Query("", description="lower limit in data units (overrides lo)"),
    vmax: str = Query("", description="upper limit in data units (overrides hi)"),
) -> Stretch:
    try:
        values = [float(v) if v.strip() else None for v in (vmin, vmax)]
    except ValueError:
        raise bad_request("vmin and vmax must be numbers (or empty)") from None
    try:
        return Stretch(stretch, lo, hi, *values)
    except StretchError as exc:
        raise bad_request(str(exc), accepted=", ".join(STRETCHES)) from None


#: What the stretch parser accepts; lo < hi (and vmin < vmax) is a rule between
#: two parameters that OpenAPI cannot write (see tests/api/test_schemathesis.py).
_STRETCH_SCHEMAS: dict[str, dict[str, Any]] = {
    "stretch": {"type": "string", "enum": list(STRETCHES)},
    "lo": {"type": "number", "minimum": 0, "maximum": 100},
    "hi": {"type": "number", "minimum": 0, "maximum": 100},
    "vmin": {"type": "number"},
    "vmax": {"type": "number"},
}


def _readable(request: Request, engine: Engine, filename: str) -> dict[str, Any]:
    user, _ = portal_user(request)
    return deps.readable_product(engine, user, filename)


@router.get(
    "/portal/product/{filename}",
    response_class=HTMLResponse,
    summary="Portal: one product, its fields, keywords, preview and image view",
    openapi_extra=refine(**_STRETCH_SCHEMAS),
    responses=html_errors(400, 401, 403, 404),
)
def product_page(
    request: Request,
    filename: str,
    stretch: str = Query(DEFAULT_STRETCH, description=f"one of {', '.join(STRETCHES)}"),
    lo: str = Query("", description=f"lower limit, percentile (default {DEFAULT_LOWER_PERCENT})"),
    hi: str = Query("", description=f"upper limit, percentile (default {DEFAULT_UPPER_PERCENT})"),
    vmin: str = Query("", description="lower limit in data units (overrides lo)"),
    vmax: str = Query("", description="upper limit in data units (overrides hi)"),
    engine: Engine = Depends(deps.catalog),
) -> HTMLResponse:
    """The page answers its errors as a page (not JSON), so the limits arrive
    as text and are parsed here."""
    try:
        chosen = _stretch_query(**_stretch_params(stretch, lo, hi, vmin, vmax))
        row = _readable(request, engine, filename)
    except ApiError as exc:
        return _error(request, exc.status_code, exc.message, "Product")
    with engine.connect() as conn:
        observation = observation_of_product(conn, row["obsid"])
        keywords = keyword_rows(conn, row["product_id"])
    fields = {k: v for k, v in row.items() if k not in HIDDEN_FIELDS}
    fields["dataRights"] = rights_for(row["release_mjd"])
    return _page(
        request,
        "product.html",
        title=filename,
        product=fields,
        obs_id=observation["obs_id"] if observation else None,
        keywords=keywords,
        uri=f"mast:JWST/product/{filename}",
        preview=store.preview_name(filename) if row["suffix"] in DRAWN else None,
        imaged=row["suffix"] in IMAGED,
        plotted=row["suffix"] in PLOTTED_SUFFIXES,
        stretch=chosen,
        stretches=list(STRETCHES),
    )


def _stretch_params(stretch: str, lo: str, hi: str, vmin: str, vmax: str) -> dict[str, Any]:
    """The stretch fields of the page's query (the page also shows without them)."""
    params: dict[str, Any] = {"stretch": stretch, "vmin": vmin, "vmax": vmax}
    for name, text, default in (
        ("lo", lo, DEFAULT_LOWER_PERCENT),
        ("hi", hi, DEFAULT_UPPER_PERCENT),
    ):
        try:
            params[name] = float(text or default)
        except ValueError:
            raise bad_request(f"{name} must be a number (a percentile, 0 to 100)") from None
    return params


@router.get(
    "/portal/product/{filename}/image.png",
    summary="Portal: the product's image with the chosen stretch and limits (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **json_errors(403, 404, 422)},
    openapi_extra=refine(**_STRETCH_SCHEMAS),
)
def product_image(
    request: Request,
    filename: str,
    stretch: Stretch = Depends(_stretch_query),
    engine: Engine = Depends(deps.catalog),
) -> Response:
    """A grey PNG of an image, cube (white light) or 2-D spectrum; header
    ``X-Stretch-Limits`` gives the limits used, in data units."""
    row = _readable(request, engine, filename)
    if row["suffix"] not in IMAGED:
        raise bad_request(
            f"{filename} is a {row['suffix']} product, not shown as an image",
            accepted=", ".join(sorted(IMAGED)),
        )
    path = str(open_storage(row["path"]).readable_path(row["path"]))
    try:
        picture, (low, high) = picture_of(image_data(path, row["suffix"]), stretch)
    except PreviewError as exc:
        raise ApiError(422, f"{filename} cannot be drawn: {exc}") from None
    return Response(
        encode(picture, "PNG"),
        media_type="image/png",
        headers={
            "X-Stretch-Limits": f"{low:.6g} {high:.6g}",
            "Cache-Control": "private, max-age=600",
        },
    )
