"""Putting the access gate in front of the API.

`install(app, tokens, service, max_body=...)` puts the gate in front of the API; with an
empty token table only the body size limit applies (access control is off).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from recaudit.access.scopes import CallOwners
from recaudit.access.tokens import TokenTable
from recaudit.core.service import RecordingService
from recaudit.http.console.sessions import SessionStore
from recaudit.http.gate import AccessGate, PageRefusal
from recaudit.http.routes import PUBLIC


def install(app: FastAPI, tokens: TokenTable, service: RecordingService, *,
            max_body: int, sessions: SessionStore | None = None,
            pages: PageRefusal | None = None) -> None:
    """Put the gate in front of every route of `app` (call once its routes are added);
    `sessions` are the console's (a signed-in browser), `pages` answers a refused page."""
    app.add_middleware(AccessGate, routes=app.router.routes, tokens=tokens,
                       owners=CallOwners(service), max_body=max_body, sessions=sessions,
                       pages=pages)
    if tokens.enabled:
        app.openapi = _with_bearer(app.openapi)  # type: ignore[method-assign]


def _with_bearer(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document, declaring the bearer token on every route that needs one."""

    def openapi() -> dict[str, Any]:
        document = generate()
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer",
                             "description": "an access token (see `recaudit token`)"}
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                public = (method.upper(), path) in PUBLIC
                operation["security"] = [] if public else [{"bearer": []}]
        return document

    return openapi
