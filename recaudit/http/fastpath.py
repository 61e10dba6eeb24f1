"""The call commands' short way through the server: a pure ASGI middleware.

Starting a call and sending it a command are most of what the API is asked, and
through the web framework each paid for its routing, dependency solving, body
model and a hop to a worker thread before the service was even called; the
event loop's thread spent more time there than the group committer spent on the
commands. This middleware sits innermost, behind the access gate, the console's
headers and the fail-fast check, and answers these routes itself when the
request is plainly valid:

- `POST /calls` and `POST /calls/{call_id}/<command>` with a JSON body
  (`Content-Type: application/json`) that is an object of exactly the
  contract's members, every value of the expected JSON type and form, and any
  `at` an RFC 3339 time with its offset (`2026-03-01T09:30:00.000Z`);
- the command is handed to the group committer from the event loop
  (`RecordingService.*_async`): no worker thread waits on the batch;
- the answer, or a refusal, is the same response the route gives, built by the
  same functions (`call_response`, `errors.answer`).

Anything else, including every request the route would refuse as malformed, is
passed on untouched (its body replayed) to the framework, whose route and
error handlers answer it as before. So this path decides nothing the routes
would decide differently; it only skips work for the common case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import InterfaceError, OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.clock import to_utc_millis
from domain.ids import ID_PATTERN
from domain.rules import CALL_COMMANDS, Command
from domain.text import ACTOR_PATTERN
from recaudit.core.health import StoreUnavailable
from recaudit.core.service import CallResult, RecordingService
from recaudit.http import errors
from recaudit.http.body import ClientGone, replay
from recaudit.http.jsonbody import JSONResponse
from recaudit.http.routes import COMMAND_PATHS


def _whole(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """`pattern` (anchored by ^ and $) matched against the whole text: Python's `$` would
    also accept a trailing line feed, which the request validator does not."""
    return re.compile(pattern.removeprefix("^").removesuffix("$")).fullmatch


_ID = _whole(ID_PATTERN)
_ACTOR = _whole(ACTOR_PATTERN)
# The one form of time taken here; any other form goes to the framework, which reads it
# or refuses it.
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"
                   ).fullmatch
_EARLIEST = datetime.fromisoformat("1970-01-01T00:00:00+00:00")

# "/calls/{call_id}/recording/start" -> "recording/start": the part after the call id.
_SUFFIXES: dict[str, Command] = {
    COMMAND_PATHS[c].removeprefix("/calls/{call_id}/"): c for c in CALL_COMMANDS
}
_START_MEMBERS = frozenset({"call_id", "org_id", "agent_id", "direction", "at", "command_id"})
_START_REQUIRED = frozenset({"call_id", "org_id", "agent_id", "direction"})
_COMMAND_MEMBERS = frozenset({"by", "at", "command_id"})
_COMMAND_REQUIRED = frozenset({"by"})
_DIRECTIONS = frozenset({"inbound", "outbound"})
_JSON = b"application/json"

# The route's own answer to a result: `recaudit.http.api.call_response`.
Respond = Callable[[CallResult, int], JSONResponse]


class NotPlain(Exception):
    """The request is not one this path answers: the framework's route will."""


@dataclass(frozen=True)
class Route:
    command: Command | None  # None: start a call
    call_id: str = ""


class CommandFastPath:
    def __init__(self, app: ASGIApp, *, service: RecordingService, respond: Respond) -> None:
        self.app = app
        self.service = service
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
        except ClientGone:
            return
        try:
            result, success = await self._run(route, body)
        except NotPlain:
            await self.app(scope, replay(body, receive), send)
            return
        except errors.ROOTS as exc:
            await errors.answer(exc)(scope, receive, send)
            return
        except (OperationalError, InterfaceError) as exc:
            self.service.health.mark_down(exc)
            await errors.answer(StoreUnavailable(exc))(scope, receive, send)
            return
        await self.respond(result, success)(scope, receive, send)

    async def _run(self, route: Route, body: bytes) -> tuple[CallResult, int]:
        fields = _members(body)
        at = _time(fields.get("at"))
        command_id = _optional_id(fields.get("command_id"))
        if route.command is None:
            _require(fields, _START_MEMBERS, _START_REQUIRED)
            direction = fields["direction"]
            if type(direction) is not str or direction not in _DIRECTIONS:
                raise NotPlain
            result = await self.service.start_call_async(
                call_id=_id(fields["call_id"]), org_id=_id(fields["org_id"]),
                agent_id=_id(fields["agent_id"]), direction=direction, at=at,
                command_id=command_id)
            return result, 201
        _require(fields, _COMMAND_MEMBERS, _COMMAND_REQUIRED)
        result = await self.service.command_async(route.call_id, route.command,
                                                  by=_actor(fields["by"]), at=at,
                                                  command_id=command_id)
        return result, 200


def _route(scope: Scope) -> Route | None:
    """The command a request sends, if it is one this path may answer."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if path == "/calls":
        route = Route(None)
    elif path.startswith("/calls/"):
        call_id, _, suffix = path[len("/calls/"):].partition("/")
        command = _SUFFIXES.get(suffix)
        if command is None or not _ID(call_id):
            return None
        route = Route(command, call_id)
    else:
        return None
    return route if _is_json(scope) else None


def _is_json(scope: Scope) -> bool:
    types = [v for k, v in scope["headers"] if k == b"content-type"]
    return len(types) == 1 and types[0].lower() == _JSON


async def _read(receive: Receive) -> bytes:
    pieces: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        pieces.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(pieces)


def _members(body: bytes) -> dict[str, Any]:
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotPlain from None
    if type(fields) is not dict:
        raise NotPlain
    return fields


def _require(fields: dict[str, Any], allowed: frozenset[str], required: frozenset[str]
             ) -> None:
    if not required <= fields.keys() <= allowed:
        raise NotPlain


def _id(value: object) -> str:
    if type(value) is not str or not _ID(value):
        raise NotPlain
    return value


def _optional_id(value: object) -> str | None:
    return None if value is None else _id(value)


def _actor(value: object) -> str:
    if type(value) is not str or len(value) > 128 or not _ACTOR(value):
        raise NotPlain
    return value


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str or not _TIME(value):
        raise NotPlain
    try:
        at = datetime.fromisoformat(value)
        if at < _EARLIEST:  # compared as instants; an out-of-range offset raises
            raise NotPlain
        return to_utc_millis(at)
    except (ValueError, OverflowError):
        raise NotPlain from None
