"""astroquery's Mashup portal API: ``POST /api/v0/invoke`` (one form field,
``request=<JSON>``) and ``POST /portal/Mashup/Mashup.asmx/columnsconfig``.

Service errors are HTTP 200 ``{"status": "ERROR", "msg": ...}`` as at MAST
(astroquery raises RemoteServiceError with ``msg``); a body astroquery never
sends (no ``request`` field, not JSON) is a 400 JSON error.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from webbarchive.api.deps import catalog, current_user
from webbarchive.api.errors import Refused, bad_request
from webbarchive.api.heavy_queries import mashup_gate
from webbarchive.api.identity import identity
from webbarchive.api.openapi_docs import refine
from webbarchive.catalog.rights import User, may_read_engineering
from webbarchive.mast import caom, jwst_edb, jwst_keywords, render
from webbarchive.mast import columns as C
from webbarchive.mast.jobs import Jobs, job_key

log = logging.getLogger(__name__)
router = APIRouter(tags=["astroquery Mashup"])

_jobs_lock = threading.Lock()

OBSERVATION_SERVICES = {
    "mast.caom.cone": True,
    "mast.caom.filtered.position": True,
    "mast.caom.filtered": False,
}
SERVICES = sorted(
    [
        "Mast.Caom.Cone",
        "Mast.Caom.Filtered",
        "Mast.Caom.Filtered.Position",
        "Mast.Caom.Products",
        "Mast.Caom.All",
    ]
    + [
        f"Mast.Jwst.Filtered.{n}"
        for n in ("Nircam", "Niriss", "Nirspec", "Miri", "Fgs", "GuideStar")
    ]
    + list(jwst_edb.SERVICES.values())
)

ENGINEERING_LOGIN = (
    "engineering telemetry needs a valid MAST token; log in (astroquery: "
    "Mast.login(token=...)) or send 'Authorization: token <token>'"
)


def _jobs(request: Request) -> Jobs:
    state = request.app.state
    with _jobs_lock:
        if not hasattr(state, "mashup_jobs"):
            state.mashup_jobs = Jobs()
    return state.mashup_jobs


def execute(engine: Engine, user: User, mashup: dict[str, Any]) -> dict[str, Any]:
    """Run one Mashup request to its reply (an ERROR reply for service errors)."""
    service = str(mashup.get("service") or "")
    params = mashup.get("params") or {}
    if not isinstance(params, dict):
        return render.error("params must be a JSON object")
    name = service.lower()
    try:
        page = render.MashupPage.parse(mashup)
        with engine.connect() as conn:
            if name in OBSERVATION_SERVICES:
                table = caom.observations_query(
                    conn, user, params, page, positional=OBSERVATION_SERVICES[name]
                )
            elif name == "mast.caom.products":
                table = caom.products_query(conn, user, params, page)
            elif name == "mast.caom.all":
                return caom.all_histograms(conn, user)
            elif name in jwst_keywords.SERVICES:
                table = jwst_keywords.keyword_query(conn, user, name, params, page)
            elif name in jwst_edb.SERVICES:  # the router checked the login
                table = jwst_edb.run(conn, name, params, page)
            else:
                return render.error(
                    f"Unknown service '{service}'. This archive serves: {', '.join(SERVICES)}"
                )
    except render.MashupError as exc:
        return render.error(str(exc))
    return render.reply(table, page)


@router.post("/api/v0/invoke", summary="Mashup request (astroquery Observations / Mast)")
async def invoke(
    http_request: Request,
    request: str | None = Form(
        None,
        description='the Mashup request as JSON: {"service", "params", "page", "pagesize", "format"}',
    ),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
):
    """A coroutine: the form is read and checked on the event loop, and the
    query and its serialization run on the Mashup job's thread, the one
    thread hop of the request."""
    if not request:
        raise bad_request(
            "missing form field 'request'",
            accepted='request={"service": "Mast.Caom.Cone", "params": {...}, "format": "json"}',
        )
    try:
        mashup = orjson.loads(request)
    except orjson.JSONDecodeError:
        raise bad_request("the 'request' field is not JSON") from None
    if not isinstance(mashup, dict) or not mashup.get("service"):
        raise bad_request("the request needs a 'service'", accepted=SERVICES)
    if jwst_edb.needs_login(mashup.get("service")) and not may_read_engineering(user):
        return Response(
            orjson.dumps(render.error(ENGINEERING_LOGIN)),
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="webbarchive"'},
            media_type="application/json",
        )
    wait = getattr(
        http_request.app.state, "mashup_wait_seconds", http_request.app.state.settings.mashup_wait_s
    )
    heavy = mashup_gate(http_request.app)

    def bounded() -> bytes:
        # Who (a token not seen before is a catalog read) and the reply,
        # serialized with orjson, off the loop: FastAPI's generic encoder would
        # walk every cell of a 50,000-row page, several times slower.
        with heavy.slot(identity(http_request)):
            return orjson.dumps(execute(engine, user, mashup))

    try:
        done, body = await _jobs(http_request).run_async(job_key(user.name, request), bounded, wait)
    except Refused as exc:  # past the heavy-query bound: said with its HTTP status
        return Response(
            orjson.dumps(render.error(exc.message)),
            status_code=exc.status_code,
            headers=exc.headers,
            media_type="application/json",
        )
    except Exception:
        log.exception("Mashup request failed: %s", request[:500])
        body, done = orjson.dumps(render.error("internal error while running the query")), True
    return Response(
        body if done else orjson.dumps(render.executing()), media_type="application/json"
    )


def service_columns_config(engine: Engine, service: str, user: User) -> dict[str, Any]:
    name = service.lower()
    if name in OBSERVATION_SERVICES:
        return C.columns_config(C.OBSERVATION_COLUMNS + [C.DISTANCE])
    if name == "mast.caom.products":
        return C.columns_config(C.PRODUCT_COLUMNS)
    if name in jwst_keywords.SERVICES:
        with engine.connect() as conn:
            return jwst_keywords.columns_config(conn, name, user)
    return {}


@router.post(
    "/portal/Mashup/Mashup.asmx/columnsconfig",
    openapi_extra=refine(body_required=("colConfigId",)),
    summary="Column configuration of a Mashup service (every filterable column)",
)
def columnsconfig(
    colConfigId: str | None = Form(
        None,
        description="a Mashup service, e.g. Mast.Caom.Cone (required)",
        json_schema_extra={"pattern": r"\S"},
    ),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
):
    if not colConfigId:
        raise bad_request("missing form field 'colConfigId'", accepted=SERVICES)
    return service_columns_config(engine, colConfigId, user)
