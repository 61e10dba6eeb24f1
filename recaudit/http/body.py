"""Reading a request body up to a limit, and handing it on to the route unchanged."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope

from recaudit.access.errors import BodyTooLarge


class ClientGone(Exception):
    """The client disconnected before its body arrived; there is no one to answer."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"the request body is larger than {limit} bytes; JSON bodies are "
                        "limited to that size")


async def read_limited(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it is known to exceed `limit` bytes."""
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    pieces: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        piece = message.get("body", b"")
        size += len(piece)
        if size > limit:
            raise _too_large(limit)
        pieces.append(piece)
        if not message.get("more_body", False):
            return b"".join(pieces)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` first, then whatever the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
