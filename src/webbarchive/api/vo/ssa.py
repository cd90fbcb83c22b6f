"""SSAP 1.1 over the spectra of ivoa.obscore: /ssa?REQUEST=queryData with POS,
SIZE, BAND, TIME, FORMAT (see :mod:`webbarchive.vo.dal`)."""

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
from webbarchive.vo.dal import ssa_adql, ssa_columns
from webbarchive.vo.vosi import simple_capability

router = APIRouter(prefix="/ssa", tags=["IVOA SSAP"])


_ANSWERS = doc.votable_answers(400, 401, 408, 429)


@router.get(
    "",
    summary="SSAP queryData",
    openapi_extra=doc.get_params(doc.SSA),
    responses=_ANSWERS,
    response_class=Response,
)
@router.post(
    "",
    summary="SSAP queryData",
    openapi_extra=doc.post_params(doc.SSA),
    responses=_ANSWERS,
    response_class=Response,
)
async def query(request: Request) -> Response:
    params = await vo_params(request)
    adql = ssa_adql(params)
    maxrec = params.get("MAXREC") or params.get("TOP")
    return await run_dal_query(request, adql, ssa_columns, maxrec)


@router.get(
    "/capabilities",
    summary="VOSI capabilities",
    responses=doc.media("text/xml"),
    response_class=Response,
)
async def capabilities(request: Request) -> Response:
    url = str(request.base_url).rstrip("/") + "/ssa"
    return capabilities_response(
        request, [simple_capability("ivo://ivoa.net/std/SSA", url)], "/ssa"
    )


@router.get(
    "/availability",
    summary="VOSI availability",
    responses=doc.media("text/xml"),
    response_class=Response,
)
async def availability() -> Response:
    return availability_response()
