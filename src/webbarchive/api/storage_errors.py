"""An unreachable object store answered as load, not as a fault: 503 with
``Retry-After`` (JSON on MAST/DJA routes, an ERROR VOTable on VO routes, as
:class:`~webbarchive.api.errors.Refused` renders it), never a 500. Nothing is
cached about the failure: the next request asks the store again, so the
service recovers by itself when the store comes back."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response

from webbarchive.api.errors import Refused
from webbarchive.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


def refusal(exc: StorageUnavailable) -> Refused:
    return Refused(
        503,
        "the archive's file storage is unreachable just now; try again in a few "
        f"seconds ({exc.reason})",
        exc.retry_after_s,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(StorageUnavailable)
    async def _storage_unavailable(request: Request, exc: StorageUnavailable) -> Response:
        log.warning("storage unreachable on %s: %s", request.url.path, exc)
        refused = refusal(exc)
        body, media_type = refused.render(request.url.path)
        return Response(body, 503, headers=refused.headers, media_type=media_type)
