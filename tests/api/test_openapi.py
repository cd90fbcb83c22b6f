"""/openapi.json is a valid OpenAPI document that documents every parameter.

The truth for "reads parameters" is the route's own code: an endpoint (or a
module function it hands the request to) that reads ``request.query_params``,
the VO parameter readers or a form body must declare, in the schema, the
parameters it reads, so /docs and Swagger's "Try it out" can send them.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import Counter

import pytest
from fastapi.routing import APIRoute
from openapi_spec_validator import validate

from webbarchive.api.app import create_app
from webbarchive.config import Settings

#: What a route's code does when it reads parameters by hand.
READS_PARAMETERS = ("query_params", "vo_params", "vo_multi_params", ".form(")
#: Routes that read no parameter although the walk above might think so: none today.
NO_PARAMETERS: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(Settings.from_env(db_url=str(tmp_path_factory.mktemp("oa") / "c.db")))


@pytest.fixture(scope="module")
def spec(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _source(func) -> str:
    try:
        return textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return ""


def reads_parameters(func, depth: int = 2) -> bool:
    """Whether ``func`` reads request parameters by hand, itself or through a
    module-level function it passes the request to (``depth`` levels down)."""
    source = _source(func)
    if any(marker in source for marker in READS_PARAMETERS):
        return True
    if depth == 0 or not source:
        return False
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        passes_request = any(
            isinstance(arg, ast.Name) and "request" in arg.id
            for arg in [*node.args, *(k.value for k in node.keywords)]
        )
        callee = func.__globals__.get(node.func.id)
        if passes_request and inspect.isfunction(callee) and reads_parameters(callee, depth - 1):
            return True
    return False


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_no_operation_id_is_duplicated(spec):
    ids = Counter(
        operation["operationId"]
        for operations in spec["paths"].values()
        for operation in operations.values()
    )
    assert [name for name, count in ids.items() if count > 1] == []


def api_routes(app) -> list:
    """Every API route (its effective path, methods and endpoint), nested routers included."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI before route contexts: routes are flat
        contexts = app.routes
    return [
        route
        for route in contexts
        if isinstance(getattr(route, "original_route", route), APIRoute)
        and getattr(route, "original_route", route).include_in_schema
    ]


def test_every_route_that_reads_parameters_declares_them(app, spec):
    undeclared = []
    routes = api_routes(app)
    assert len(routes) > 50  # the walk sees the routers
    for route in routes:
        for method in route.methods:
            key = (method, route.path_format)
            operation = spec["paths"][route.path_format].get(method.lower())
            if operation is None or key in NO_PARAMETERS:
                continue
            declared = [p for p in operation.get("parameters", []) if p["in"] != "path"]
            if method == "POST" and "requestBody" in operation:
                continue
            if not declared and reads_parameters(route.endpoint):
                undeclared.append(f"{method} {route.path_format}")
    assert undeclared == [], f"routes reading undeclared parameters: {undeclared}"


def test_the_walk_sees_hand_parsing():
    """The check above is only as good as its walk: it must see the readers it is
    meant to catch (directly and one call down)."""
    from webbarchive.api import dja_imaging, pixel_search
    from webbarchive.api.vo import scs, tap

    assert reads_parameters(dja_imaging.thumb)
    assert reads_parameters(pixel_search.spectra_search)  # through _search(request, ...)
    assert reads_parameters(scs.cone) and reads_parameters(tap.sync)
    assert not reads_parameters(scs.availability)


def test_every_operation_documents_its_errors_in_its_family_shape(spec):
    for path, operations in spec["paths"].items():
        vo = path.split("/")[1] in ("tap", "scs", "sia", "ssa")
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}: this app answers 400, not 422"
            for code in ("400", "401", "429"):
                content = responses[code].get("content", {})
                wanted = "application/x-votable+xml" if vo else "application/json"
                if code == "400" and path == "/":  # the portal page says it in HTML
                    wanted = "text/html"
                if method == "post" and path.startswith("/tap/async/") and code == "400":
                    wanted = "text/plain"  # UWS 1.1 answers parameter errors in plain text
                assert wanted in content, f"{method} {path} {code}: {sorted(content)}"


def test_hand_parsed_routes_show_the_seed_examples(spec):
    """The seeds' own examples reach /docs (seed 001: the pixel search; seed 003: DJA)."""
    pixel = {p["name"]: p for p in spec["paths"]["/spectra/api/v0.1/search"]["get"]["parameters"]}
    assert pixel["wavelength"]["example"] == "1.2,1.3" and pixel["flux.gte"]["example"] == 10
    thumb = {p["name"]: p for p in spec["paths"]["/thumb"]["get"]["parameters"]}
    assert thumb["coords"]["example"] == "34.4048289,-5.22487"
    assert thumb["output"]["schema"]["enum"] == ["png", "fits", "fits_weight"]
    tap = {p["name"]: p for p in spec["paths"]["/tap/sync"]["get"]["parameters"]}
    assert tap["LANG"]["required"] and tap["QUERY"]["required"]
    assert "multipart/form-data" in spec["paths"]["/tap/sync"]["post"]["requestBody"]["content"]
