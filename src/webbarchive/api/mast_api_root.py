"""``GET /api/``: the landing of MAST's API, which clients use as a liveness check.

The JWST pipeline's EDB client (``jwst.lib.engdb_mast.EngdbMast``) asks
``<base_url>api/`` for a 200 before it fetches any telemetry, and falls back to
another backend otherwise; MAST answers with its API page. Here the answer is a
short JSON index of the API families this archive serves under ``/api``.
"""

from __future__ import annotations

from fastapi import APIRouter

from webbarchive.api.errors import JsonResponse

router = APIRouter(tags=["mast"])

SERVICES = {
    "invoke": "/api/v0/invoke (Mashup: Mast.Caom.*, Mast.JwstEdb.*)",
    "download": "/api/v0.1/Download/file?uri=mast:JWST/product/<file> or mast:jwstedb/<csv>",
    "bundle": "/api/v0.1/Download/bundle",
    "path_lookup": "/api/v0.1/path_lookup/",
}


@router.get("/api/", summary="MAST API landing (liveness check of EDB clients)")
@router.get("/api", include_in_schema=False)
def api_root() -> JsonResponse:
    return JsonResponse({"status": "COMPLETE", "msg": "webbarchive MAST API", "services": SERVICES})
