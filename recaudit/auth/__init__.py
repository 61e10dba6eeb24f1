"""Access control: bearer tokens with roles, checked before any route runs.

`install(app, tokens, service, max_body=...)` puts the gate in front of the API; with an
empty token table only the body size limit applies (access control is off).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recaudit.auth.errors import AccessError, TokenConfigError
from recaudit.auth.rules import PERMISSIONS, PUBLIC, ROUTES, Action, Reach
from recaudit.auth.tokens import Principal, Role, TokenTable, digest, load
from recaudit.settings import Settings

if TYPE_CHECKING:  # the web framework is only loaded by `install`
    from fastapi import FastAPI

    from recaudit.service import RecordingService

__all__ = [
    "PERMISSIONS",
    "ROUTES",
    "AccessError",
    "Action",
    "Principal",
    "Reach",
    "Role",
    "TokenConfigError",
    "TokenTable",
    "digest",
    "install",
    "load_tokens",
]


def load_tokens(settings: Settings) -> TokenTable:
    """The tokens configured by RECAUDIT_TOKENS_FILE and RECAUDIT_TOKENS (may be empty)."""
    files = [settings.tokens_file] if settings.tokens_file is not None else []
    texts = [("RECAUDIT_TOKENS", settings.tokens)] if settings.tokens is not None else []
    return load(files, texts)


def install(app: FastAPI, tokens: TokenTable, service: RecordingService, *,
            max_body: int) -> None:
    """Put the gate in front of every route of `app` (call once its routes are added)."""
    from recaudit.auth.gate import AccessGate
    from recaudit.auth.scopes import CallOwners

    app.add_middleware(AccessGate, routes=app.router.routes, tokens=tokens,
                       owners=CallOwners(service), max_body=max_body)
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
