"""The one error type of the API and its JSON rendering.

Routers raise :class:`ApiError`; bad query parameters caught by FastAPI become
400s in the same shape. The body always says what was wrong and, where it
helps, what is accepted::

    {"status": "ERROR", "error": 400, "message": "...", "accepted": [...]}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered to the client with ``status_code`` and a JSON body."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        accepted: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.accepted = accepted
        self.headers = headers

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ERROR",
            "error": self.status_code,
            "message": self.message,
        }
        if self.accepted is not None:
            body["accepted"] = self.accepted
        return body


def bad_request(message: str, accepted: Any = None) -> ApiError:
    return ApiError(400, message, accepted=accepted)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def _render(error: ApiError) -> ORJSONResponse:
    return ORJSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a JSON body."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> ORJSONResponse:
        return _render(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> ORJSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body"))
            problems.append(f"{where}: {err.get('msg')}")
        return _render(ApiError(400, "invalid parameters: " + "; ".join(problems)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API reference"
        return _render(ApiError(exc.status_code, message, headers=getattr(exc, "headers", None)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return _render(ApiError(500, f"internal error: {type(exc).__name__}"))
