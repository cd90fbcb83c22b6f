"""Simple Cone Search 1.03 over ivoa.obscore: /scs?RA=&DEC=&SR= (degrees)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webbarchive.api.vo import (
    availability_response,
    capabilities_response,
    run_dal_query,
    vo_params,
)
from webbarchive.api.vo import documented as doc
from webbarchive.vo.dal import scs_adql, scs_columns
from webbarchive.vo.vosi import simple_capability

router = APIRouter(prefix="/scs", tags=["IVOA cone search"])


_ANSWERS = doc.votable_answers(400, 401, 408, 429)


@router.get(
    "",
    summary="Simple Cone Search",
    openapi_extra=doc.get_params(doc.SCS),
    responses=_ANSWERS,
    response_class=Response,
)
@router.post(
    "",
    summary="Simple Cone Search",
    openapi_extra=doc.post_params(doc.SCS),
    responses=_ANSWERS,
    response_class=Response,
)
async def cone(request: Request) -> Response:
    params = await vo_params(request)
    adql = scs_adql(params)
    return await run_dal_query(request, adql, scs_columns, params.get("MAXREC"))


@router.get(
    "/capabilities",
    summary="VOSI capabilities",
    responses=doc.media("text/xml"),
    response_class=Response,
)
async def capabilities(request: Request) -> Response:
    url = str(request.base_url).rstrip("/") + "/scs"
    return capabilities_response(
        request, [simple_capability("ivo://ivoa.net/std/ConeSearch", url)], "/scs"
    )


@router.get(
    "/availability",
    summary="VOSI availability",
    responses=doc.media("text/xml"),
    response_class=Response,
)
async def availability() -> Response:
    return availability_response()
