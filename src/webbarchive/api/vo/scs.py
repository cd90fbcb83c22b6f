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
from webbarchive.vo.dal import scs_adql, scs_columns
from webbarchive.vo.vosi import simple_capability

router = APIRouter(prefix="/scs", tags=["IVOA cone search"])


@router.get("", summary="Simple Cone Search")
@router.post("", summary="Simple Cone Search")
async def cone(request: Request) -> Response:
    params = await vo_params(request)
    adql = scs_adql(params)
    return await run_dal_query(request, adql, scs_columns, params.get("MAXREC"))


@router.get("/capabilities", summary="VOSI capabilities")
async def capabilities(request: Request) -> Response:
    url = str(request.base_url).rstrip("/") + "/scs"
    return capabilities_response(
        request, [simple_capability("ivo://ivoa.net/std/ConeSearch", url)], "/scs"
    )


@router.get("/availability", summary="VOSI availability")
async def availability() -> Response:
    return availability_response()
