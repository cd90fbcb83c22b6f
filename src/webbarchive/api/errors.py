"""The API's errors and their rendering, in one place.

Domain code raises the errors of :mod:`webbarchive.errors` (invalid input, not
found, forbidden, unauthorized); :func:`render_archive_error` answers any of them
with its HTTP status, as JSON or, on the VO routes, as an ERROR VOTable. Routers
may also raise :class:`ApiError` with an explicit status; bad query parameters
caught by FastAPI become 400s in the same shape. The body always says what was wrong and, where it
helps, what is accepted::

    {"status": "ERROR", "error": 400, "message": "...", "accepted": [...]}

On the IVOA services (:data:`VO_PREFIXES`) the same errors, a bad token's 401
among them, are ERROR VOTables (DALI), chosen in one place: :func:`render_body`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from webbarchive.errors import ArchiveError, Forbidden, InvalidInput, NotFound, Unauthorized

log = logging.getLogger(__name__)


class JsonResponse(Response):
    """JSON rendered by orjson (numpy scalars and arrays, non-string keys), the
    app's default response class. A plain starlette Response: FastAPI's own
    ORJSONResponse is deprecated. orjson refuses integers beyond 64 bits; a
    response that echoes one a client sent (a program number of 20 digits)
    falls back to the standard library instead of failing."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(
                content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
            )
        except TypeError:
            return json.dumps(content, default=str, separators=(",", ":")).encode()


class ApiError(ArchiveError):
    """An error answered to the client with ``status_code`` and a JSON body."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        accepted: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, accepted)
        self.status_code = status_code
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


#: Path prefixes of the IVOA services, whose clients read ERROR VOTables.
VO_PREFIXES = ("/tap", "/scs", "/sia", "/ssa")


def is_vo_path(path: str) -> bool:
    """Whether ``path`` belongs to an IVOA service (TAP, SCS, SIA, SSA and their
    VOSI endpoints), whose errors are ERROR VOTables (DALI) rather than JSON."""
    return any(path == p or path.startswith(p + "/") for p in VO_PREFIXES)


class Refused(ApiError):
    """A request refused for load, not for what it asks: 429 (this caller's rate
    or share of heavy queries) or 503 (the server's share), with ``Retry-After``
    in whole seconds. Rendered as JSON, or as an ERROR VOTable on VO paths."""

    def __init__(self, status_code: int, message: str, retry_after_s: int) -> None:
        super().__init__(
            status_code, message, headers={"Retry-After": str(max(1, int(retry_after_s)))}
        )

    def render(self, path: str) -> tuple[bytes, str]:
        """(body, media type) for a request on ``path``."""
        return render_body(self, path)


def render_body(error: ApiError, path: str) -> tuple[bytes, str]:
    """(body, media type) of ``error`` for a request on ``path``: an ERROR VOTable
    on the IVOA services (the accepted forms appended to its message), the JSON
    body elsewhere. The one place that chooses an error's shape by route family."""
    if is_vo_path(path):
        from webbarchive.vo.formats import VOTABLE_MIME, error_votable

        message = error.message
        if error.accepted is not None:
            message += f" (accepted: {_accepted_text(error.accepted)})"
        return error_votable(message), VOTABLE_MIME
    return JsonResponse(error.body()).body, "application/json"


def _accepted_text(accepted: Any) -> str:
    if isinstance(accepted, (list, tuple)):
        return "; ".join(str(a) for a in accepted)
    if isinstance(accepted, dict):
        return "; ".join(f"{k}: {v}" for k, v in accepted.items())
    return str(accepted)


def bad_request(message: str, accepted: Any = None) -> ApiError:
    return ApiError(400, message, accepted=accepted)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


# --- domain errors: one status per kind, one renderer per route family --------------

#: The HTTP status of each kind of domain error, most specific first.
STATUS_OF_KIND: tuple[tuple[type[ArchiveError], int], ...] = (
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InvalidInput, 400),
)


def status_of(exc: ArchiveError) -> int:
    """The HTTP status answering ``exc`` (400 for a kind not listed)."""
    explicit = getattr(exc, "status_code", None)
    if explicit is not None:
        return explicit
    return next((status for kind, status in STATUS_OF_KIND if isinstance(exc, kind)), 400)


def is_vo_route(request: Request) -> bool:
    """True on the IVOA services, whose clients read ERROR VOTables, not JSON."""
    return is_vo_path(request.url.path)


def archive_error_body(exc: ArchiveError, status: int) -> dict[str, Any]:
    """The JSON body: ``{"status": "ERROR", "error": <status>, "message": ...}``
    with ``accepted`` and ``parameter`` when the error says them."""
    body = ApiError(status, exc.message, accepted=exc.accepted).body()
    if exc.parameter is not None:
        body["parameter"] = exc.parameter
    return body


def render_archive_error(request: Request, exc: ArchiveError) -> Response:
    """Answer a domain error for the route family of ``request``: an ERROR
    VOTable on the VO routes (the message followed by what is accepted), JSON
    on every other route."""
    status = status_of(exc)
    headers = getattr(exc, "headers", None)
    if status == 401 and not headers:  # RFC 9110: a 401 names its scheme
        headers = {"WWW-Authenticate": 'Bearer realm="webbarchive"'}
    if is_vo_route(request):
        from webbarchive.vo.formats import VOTABLE_MIME, error_votable

        message = exc.message
        if exc.accepted is not None:
            message = f"{message} (accepted: {exc.accepted})"
        return Response(error_votable(message), status, headers=headers, media_type=VOTABLE_MIME)
    return JsonResponse(archive_error_body(exc, status), status_code=status, headers=headers)


def _render(request: Request, error: ApiError) -> Response:
    body, media_type = render_body(error, request.url.path)
    return Response(body, error.status_code, headers=error.headers, media_type=media_type)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into an error body: JSON, or
    an ERROR VOTable on the IVOA services (:func:`render_body`)."""

    @app.exception_handler(ArchiveError)
    async def _archive_error(request: Request, exc: ArchiveError) -> Response:
        return render_archive_error(request, exc)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body"))
            problems.append(f"{where}: {err.get('msg')}")
        return _render(request, ApiError(400, "invalid parameters: " + "; ".join(problems)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API reference"
        error = ApiError(exc.status_code, message, headers=getattr(exc, "headers", None))
        return _render(request, error)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (a NUL character on PostgreSQL, an
        # integer past 64 bits): the client's input, not our failure. The
        # database's text is not echoed: it may quote stored values.
        log.info("value refused by the database on %s: %s", request.url.path, exc.orig)
        return _render(
            request,
            ApiError(
                400,
                "a parameter holds a value the catalog cannot store or compare "
                "(NUL characters, integers beyond 64 bits)",
            ),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _render(request, ApiError(500, f"internal error: {type(exc).__name__}"))
