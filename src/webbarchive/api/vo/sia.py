"""SIAv2 over ivoa.obscore: /sia/query with POS, BAND, TIME, POL, FOV, SPATRES,
EXPTIME, ID, COLLECTION, FACILITY, INSTRUMENT, DPTYPE, CALIB, TARGET, FORMAT,
MAXREC (see :mod:`webbarchive.vo.dal`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webbarchive.api.vo import (
    availability_response,
    capabilities_response,
    run_dal_query,
    vo_multi_params,
)
from webbarchive.api.vo import documented as doc
from webbarchive.vo.dal import sia_adql
from webbarchive.vo.vosi import simple_capability

router = APIRouter(prefix="/sia", tags=["IVOA SIAv2"])


_ANSWERS = doc.votable_answers(400, 401, 408, 429)


@router.get(
    "/query",
    summary="SIAv2 query",
    openapi_extra=doc.get_params(doc.SIA),
    responses=_ANSWERS,
    response_class=Response,
)
@router.post(
    "/query",
    summary="SIAv2 query",
    openapi_extra=doc.post_params(doc.SIA),
    responses=_ANSWERS,
    response_class=Response,
)
async def query(request: Request) -> Response:
    params = await vo_multi_params(request)
    adql = sia_adql(params)
    maxrec = params.get("MAXREC", [None])[0]
    return await run_dal_query(request, adql, lambda columns: columns, maxrec)


@router.get(
    "/capabilities",
    summary="VOSI capabilities",
    responses=doc.media("text/xml"),
    response_class=Response,
)
async def capabilities(request: Request) -> Response:
    url = str(request.base_url).rstrip("/") + "/sia/query"
    return capabilities_response(
        request, [simple_capability("ivo://ivoa.net/std/SIA#query-2.0", url)], "/sia"
    )


@router.get(
    "/availability",
    summary="VOSI availability",
    responses=doc.media("text/xml"),
    response_class=Response,
)
async def availability() -> Response:
    return availability_response()
