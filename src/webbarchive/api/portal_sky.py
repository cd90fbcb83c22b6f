"""The portal's sky view: Aladin Lite v3, served from node_modules.

Aladin Lite (npm ``aladin-lite``, pinned in package.json, installed by
``npm ci``; never copied into the repository) is one ES module of about
2.4 MB with its WebAssembly inlined. The search page's ``static/sky.js``
imports it from here and draws the results' footprints; the survey under them
is the ``WEBBARCHIVE_PORTAL_SKY_SURVEY`` setting (empty: a coordinate grid,
for an archive without internet access).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from webbarchive.api.errors import ApiError

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
