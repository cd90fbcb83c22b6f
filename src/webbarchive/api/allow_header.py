"""A 405's ``Allow`` header lists every method the path answers (RFC 9110 §15.5.6).

Several resources register their methods as separate routes (``GET /tap/sync``
and ``POST /tap/sync``, the UWS job resources, the admin lists). Starlette
answers a method no route takes with the ``Allow`` of the first route whose
path matched, so ``OPTIONS /tap/sync`` said ``Allow: POST`` although GET works
too. This middleware rewrites the header of every 405 from the routing table:
the union of the methods of all routes whose path matches (HEAD with GET, as
Starlette answers it). A path no route matches keeps what its handler said.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _route_table(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path regex, methods) of every method-bearing route, nested routers included."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: Any = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI before route contexts: routes are flat
        routes = app.routes
    table = []
    for route in routes:
        methods, path = getattr(route, "methods", None), getattr(route, "path", None)
        if methods and path:
            table.append((compile_path(path)[0], frozenset(methods)))
    return table


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route of ``app`` answers on ``path``, sorted; [] if none matches."""
    table = getattr(app.state, "allow_table", None)
    if table is None:
        table = app.state.allow_table = _route_table(app)
    methods: set[str] = set()
    for regex, route_methods in table:
        if regex.match(path):
            methods |= route_methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


class AllowHeader:
    """ASGI middleware: a 405 carries ``Allow`` with the methods of every matching route."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed_methods(self.fastapi_app, scope.get("path", ""))
                if methods:
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"
                    ]
                    headers.append((b"allow", ", ".join(methods).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)


def install(app: FastAPI) -> None:
    """Rewrite the ``Allow`` header of every 405 answered by ``app``."""
    app.add_middleware(AllowHeader, fastapi_app=app)
