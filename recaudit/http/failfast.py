"""Failing fast while the event store is down: an ASGI middleware in front of the routes.

A request that needs the store is answered `503 store_unavailable` at once while the
store's health says it is down, instead of waiting on the storage library's retries;
the routes that do not touch the store (`always_served`) are served as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from recaudit.core.health import StoreHealth, StoreUnavailable
from recaudit.http import errors


class FailFast:
    def __init__(self, app: ASGIApp, *, health: StoreHealth,
                 always_served: Callable[[str], bool]) -> None:
        self.app = app
        self.health = health
        self.always_served = always_served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and self.health.is_down
                and not self.always_served(scope["path"])):
            await errors.answer(StoreUnavailable(self.health.last_error))(scope, receive, send)
            return
        await self.app(scope, receive, send)
