"""IVOA services: TAP (tap.py), Simple Cone Search (scs.py), SIAv2 (sia.py), SSAP (ssa.py).

VO clients expect VOTable error documents rather than the JSON errors of the
other API families, so these routers answer errors with a QUERY_STATUS=ERROR
VOTable (DALI) and an HTTP 400.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from webbarchive.api.deps import user_of
from webbarchive.vo.formats import VOTABLE_MIME, error_votable
from webbarchive.vo.obscore import QueryContext


async def vo_params(request: Request) -> dict[str, str]:
    """Request parameters with upper-cased names (DALI: names are case-insensitive),
    from the query string and a form body; the first value of a repeated name wins,
    except that repeated values are joined for the multi-valued SIA/SSA parameters
    by :func:`vo_multi_params`."""
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.upper(), value)
    if request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                params.setdefault(key.upper(), value)
    return params


async def vo_multi_params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.upper(), []).append(value)
    if request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                params.setdefault(key.upper(), []).append(value)
    return params


def query_context(request: Request) -> QueryContext:
    return QueryContext(user_of(request), str(request.base_url).rstrip("/"))


def votable_response(body: bytes, status_code: int = 200, mime: str = VOTABLE_MIME) -> Response:
    return Response(body, status_code=status_code, media_type=mime)


def error_response(message: str, status_code: int = 400) -> Response:
    return votable_response(error_votable(message), status_code)


async def run_dal_query(request: Request, adql: str, fix_columns, maxrec_text: str | None):
    """Run a protocol's ADQL and answer a VOTable (errors as ERROR VOTables)."""
    import asyncio

    from webbarchive.api.deps import catalog_of
    from webbarchive.vo.execute import QueryTimeout, run_query
    from webbarchive.vo.formats import FORMATS, render
    from webbarchive.vo.vosi import parse_maxrec

    maxrec = parse_maxrec(maxrec_text)

    def answer() -> Response:  # in a thread: the caller's token and the query read the catalog
        result = run_query(
            catalog_of(request),
            adql,
            query_context(request),
            maxrec=maxrec,
            timeout_s=request.app.state.settings.query_timeout_s,
        )
        columns = fix_columns(result.columns)
        return votable_response(render(FORMATS[0], columns, result.rows, overflow=result.overflow))

    try:
        return await asyncio.to_thread(answer)
    except QueryTimeout as exc:
        return error_response(str(exc), 408)


def capabilities_response(request: Request, service_caps: list[str], root: str) -> Response:
    from webbarchive.vo.vosi import capabilities_xml

    base = str(request.base_url).rstrip("/") + root
    return Response(capabilities_xml(base, service_caps), media_type="text/xml")


def availability_response() -> Response:
    from webbarchive.vo.vosi import availability_xml

    return Response(availability_xml(), media_type="text/xml")
