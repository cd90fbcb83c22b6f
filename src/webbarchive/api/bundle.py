"""``POST /api/v0.1/Download/bundle.sh``: the curl script astroquery's
``download_products(..., curl_flag=True)`` asks for (form body
``uri=<dataURI>&uri=...``). See :mod:`webbarchive.mast.bundle` for its form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from webbarchive.api import openapi_docs as doc
from webbarchive.api.deps import catalog, current_user
from webbarchive.api.errors import bad_request
from webbarchive.catalog.rights import User
from webbarchive.mast import bundle

router = APIRouter(tags=["downloads"])
MAX_URIS = 100_000
_URIS = doc.Param(
    "uri",
    "product URIs, repeated (or comma-separated in the query string)",
    {"type": "array", "items": {"type": "string"}},
    ["mast:JWST/product/jw02736-o001_t001_nircam_clear-f090w_i2d.fits"],
)


@router.post(
    "/api/v0.1/Download/bundle.sh",
    response_class=PlainTextResponse,
    summary="curl script downloading the given files (form field uri, repeated)",
    openapi_extra=doc.query(_URIS) | doc.form(_URIS),
    responses=doc.media("text/x-shellscript", description="the curl script")
    | doc.json_errors(400, 401, 429),
)
async def bundle_sh(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> PlainTextResponse:
    form = await request.form()
    uris = [str(u) for u in form.getlist("uri")]
    uris += [p for u in request.query_params.getlist("uri") for p in u.split(",")]
    if not uris:
        raise bad_request(
            "no files: send the form field 'uri' once per file",
            accepted="uri=mast:JWST/product/<filename>&uri=...",
        )
    if len(uris) > MAX_URIS:
        raise bad_request(f"at most {MAX_URIS} files per script (got {len(uris)})")
    files = await run_in_threadpool(_resolve, engine, user, uris)
    name, text = bundle.script(files, user, str(request.base_url))
    return PlainTextResponse(
        text,
        media_type="text/x-shellscript",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _resolve(engine: Engine, user: User, uris: list[str]) -> list[bundle.BundleFile]:
    with engine.connect() as conn:
        return bundle.resolve(conn, user, uris)
