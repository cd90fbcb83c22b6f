"""What the routes accept and answer, told to OpenAPI in one place.

Most routes declare their parameters to FastAPI (``Query``). Some must keep
their own parsing: the IVOA services take parameter names in any case and
repeated (DALI), the pixel search takes ``<column>.<op>=value`` pairs, the DJA
tools read DJA's spellings. Those routes pass :func:`query` (and, for POST,
:func:`form`) as ``openapi_extra``, so /docs lists every parameter and
Swagger's "Try it out" sends them, while the route's own parser still reads
the request.

Errors: :func:`json_errors` and :func:`votable_errors` document the one error
body of each route family (:mod:`webbarchive.api.errors` renders it).
:func:`install` adds, to every operation, what any route may answer: 400 for a
bad parameter (in the family's shape, replacing FastAPI's 422, which this app
never sends), 401 for a bad token and 429 for a caller over its rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from webbarchive.api.errors import is_vo_path
from webbarchive.vo.formats import VOTABLE_MIME

#: The JSON error body of the MAST and DJA routes (:class:`~webbarchive.api.errors.ApiError`).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error", "message"],
    "properties": {
        "status": {"type": "string", "enum": ["ERROR"]},
        "error": {"type": "integer", "description": "the HTTP status"},
        "message": {"type": "string", "description": "what was wrong"},
        "accepted": {"description": "what is accepted instead, where it helps"},
    },
}
VOTABLE_ERROR = {
    "schema": {
        "type": "string",
        "description": "a VOTable with INFO name=QUERY_STATUS value=ERROR (DALI)",
    }
}
_MEANINGS = {
    400: "bad parameter: the body says what is accepted",
    401: "no valid token (invalid, expired or revoked), or a login needed",
    403: "the user may not read this (exclusive access period)",
    404: "not found (or not visible to this user)",
    408: "the query ran past its time limit",
    409: "conflict with the resource's state",
    413: "the request or its result is too large",
    416: "the byte range cannot be satisfied",
    429: "too many requests from this caller; see Retry-After",
    503: "the server is busy with heavy queries; see Retry-After",
}


def json_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for JSON errors with these status codes."""
    return {
        code: {
            "description": _MEANINGS.get(code, "error"),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for code in codes
    }


def votable_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for ERROR VOTables (DALI) with these status codes."""
    return {
        code: {
            "description": _MEANINGS.get(code, "error"),
            "content": {VOTABLE_MIME: VOTABLE_ERROR},
        }
        for code in codes
    }


def html_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a portal page, which answers its errors as a page saying
    what was wrong (the rate limiter, ahead of the page, still answers JSON)."""
    return {
        code: {
            "description": _MEANINGS.get(code, "error") + " (an HTML page saying so)",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": ERROR_SCHEMA},
            },
        }
        for code in codes
    }


def media(*types: str, description: str = "success", status: int = 200) -> dict:
    """``responses=`` for a success answered in one of ``types`` (FITS, CSV, PNG...)."""
    return {status: {"description": description, "content": {t: {} for t in types}}}


@dataclass(frozen=True)
class Param:
    """One hand-parsed parameter: its name as sent, its JSON schema, a description
    and an example (from the seed documents where they give one)."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    example: Any = None
    required: bool = False

    def as_query(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": self.schema,
        }
        if self.example is not None:
            spec["example"] = self.example
        return spec


def text(name: str, description: str, example: Any = None, **schema: Any) -> Param:
    """A string parameter; ``schema`` adds ``enum``, ``pattern``, ``default``..."""
    return Param(name, description, {"type": "string", **schema}, example)


def number(name: str, description: str, example: Any = None, **schema: Any) -> Param:
    return Param(name, description, {"type": "number", **schema}, example)


def integer(name: str, description: str, example: Any = None, **schema: Any) -> Param:
    return Param(name, description, {"type": "integer", **schema}, example)


def required(param: Param) -> Param:
    return Param(param.name, param.description, param.schema, param.example, True)


def query(*params: Param) -> dict[str, Any]:
    """``openapi_extra`` declaring hand-parsed query parameters."""
    return {"parameters": [p.as_query() for p in params]}


def form(*params: Param) -> dict[str, Any]:
    """``openapi_extra`` for a POST that takes the same parameters as a form body
    (query parameters are accepted too, so they are listed as well)."""
    schema = {
        "type": "object",
        "properties": {
            p.name: {**p.schema, "description": p.description}
            | ({"example": p.example} if p.example is not None else {})
            for p in params
        },
        "required": [p.name for p in params if p.required] or None,
    }
    if schema["required"] is None:
        del schema["required"]
    return {
        "requestBody": {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "multipart/form-data": {"schema": schema},
            },
        }
    }


_STRING = {"type": "string"}
#: :class:`webbarchive.api.params.Page`'s bounds, for :func:`refine`.
LIMIT: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 100_000}
OFFSET: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 2**62}
_REFINE = "x-webbarchive-refine"


#: A product named by URI or bare file name: the characters of JWST and DJA product
#: names. :func:`webbarchive.uris.filename_from_uri` accepts more (any name without a
#: path separator or a control character); a name it refuses is a 400, one it does
#: not know a 404. Written as a positive class: schemathesis has drawn control
#: characters from the negated class this replaced.
PRODUCT_URI: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(mast:JWST/product/)?[A-Za-z0-9][A-Za-z0-9._+-]*$",
}


def refine(
    required: tuple[str, ...] = (), body_required: tuple[str, ...] = (), **schemas: dict[str, Any]
) -> dict[str, Any]:
    """``openapi_extra`` telling OpenAPI more than a ``Query`` declaration can,
    for a parameter the route's own parser reads (and explains when wrong):
    ``required`` names parameters the parser demands although they are typed
    ``str | None`` (so its 400 can say what is accepted), ``schemas`` gives a
    parameter the schema of what the parser accepts (an integer sent as text, an
    enum matched in any case). Applied by :func:`install`."""
    return {_REFINE: {"required": list(required), "body": list(body_required), "schemas": schemas}}


def _apply_refine(operation: dict[str, Any], spec: dict[str, Any]) -> None:
    refinement = operation.pop(_REFINE, None)
    if not refinement:
        return
    for content in operation.get("requestBody", {}).get("content", {}).values():
        schema = content.get("schema", {})
        if "$ref" in schema:  # FastAPI's form model: #/components/schemas/Body_...
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        if refinement["body"]:
            schema["required"] = sorted({*schema.get("required", []), *refinement["body"]})
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if name in refinement["required"]:
            parameter["required"] = True
        if name in refinement["schemas"]:
            parameter["schema"] = refinement["schemas"][name]
    for name in [*refinement["required"], *refinement["schemas"]]:
        if not any(p["name"] == name for p in operation.get("parameters", [])):
            raise ValueError(f"refine() names {name!r}, which the operation does not declare")


def _complete(path: str, operation: dict[str, Any], spec: dict[str, Any]) -> None:
    _apply_refine(operation, spec)
    responses = operation.setdefault("responses", {})
    errors = votable_errors if is_vo_path(path) else json_errors
    responses.pop("422", None)  # FastAPI's validation error: this app answers 400
    for code, response in responses.items():
        content = response.get("content", {}).get("application/json")
        if code.startswith("2") and content is not None and content.get("schema") == _STRING:
            # FastAPI says "a string" for a route answering the app's JsonResponse
            # (not a JSONResponse subclass) without a response model: any JSON value.
            content["schema"] = {}
    codes = [400, 401, 429]
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.append(404)  # a path naming nothing this user may see
    if path.startswith("/admin/"):
        codes.append(403)  # a user who is not an administrator
    for code in codes:
        responses.setdefault(str(code), errors(code)[code])


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` complete every operation with the answers any route
    may give (see the module docstring)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for path, operations in spec.get("paths", {}).items():
                for operation in operations.values():
                    _complete(path, operation, spec)
            spec.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            spec.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
