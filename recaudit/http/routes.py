"""The API's routes as data: the path of every call command, and each route's access rule.

The server (`recaudit.http.api`), the access gate and the clients that drive the API
(`recaudit demo`, the benchmarks) all take command paths from here.
"""

from __future__ import annotations

from domain.rules import Command
from recaudit.access.rules import Action, RouteRule, Target

# Where each call command is sent (POST, with a `{call_id}` to fill in).
COMMAND_PATHS: dict[Command, str] = {
    Command.START: "/calls/{call_id}/recording/start",
    Command.PAUSE: "/calls/{call_id}/recording/pause",
    Command.RESUME: "/calls/{call_id}/recording/resume",
    Command.STOP: "/calls/{call_id}/recording/stop",
    Command.END: "/calls/{call_id}/end",
    Command.TRANSFER: "/calls/{call_id}/transfer",
}


def command_path(command: Command, call_id: str) -> str:
    """The path to POST `command` to for the call `call_id` (an id is URL-safe by rule)."""
    return COMMAND_PATHS[command].format(call_id=call_id)


_COMMAND = RouteRule(Action.COMMAND, Target.CALL, actor_field="by")
_SET_POLICY = RouteRule(Action.SET_POLICY, Target.ORG_PATH, actor_field="changed_by")
_READ_CALL = RouteRule(Action.READ_CALL, Target.CALL)

ROUTES: dict[tuple[str, str], RouteRule] = {
    ("PUT", "/policies/{org_id}"): _SET_POLICY,
    ("PUT", "/policies/{org_id}/agents/{agent_id}"): _SET_POLICY,
    ("DELETE", "/policies/{org_id}/agents/{agent_id}"): _SET_POLICY,
    ("GET", "/policies/{org_id}"): RouteRule(Action.READ_POLICY, Target.ORG_PATH),
    ("GET", "/policies"): RouteRule(Action.READ_POLICY, Target.LISTING),
    ("POST", "/calls"): RouteRule(Action.START_CALL, Target.NEW_CALL),
    ("GET", "/calls"): RouteRule(Action.READ_CALL, Target.LISTING),
    **{("POST", path): _COMMAND for path in COMMAND_PATHS.values()},
    ("GET", "/calls/{call_id}"): _READ_CALL,
    ("GET", "/calls/{call_id}/timeline"): _READ_CALL,
    ("GET", "/calls/{call_id}/recordings"): _READ_CALL,
    ("GET", "/calls/{call_id}/recordings/{recording_no}.wav"): _READ_CALL,
    ("POST", "/calls/{call_id}/audio"): RouteRule(Action.SEND_AUDIO, Target.CALL),
    ("POST", "/admin/projections/rebuild"): RouteRule(Action.REBUILD, Target.NONE),
    ("GET", "/analytics/{name}"): RouteRule(Action.ANALYTICS, Target.NONE),
    # The compliance lifecycle.
    ("PUT", "/policies/{org_id}/retention"): RouteRule(Action.SET_RETENTION, Target.ORG_PATH,
                                                       actor_field="changed_by"),
    ("POST", "/admin/retention/run"): RouteRule(Action.RUN_RETENTION, Target.NONE,
                                                actor_field="by"),
    ("DELETE", "/calls/{call_id}/recordings/{recording_no}"): RouteRule(
        Action.ERASE, Target.CALL, actor_field="by"),
    ("POST", "/legal-holds"): RouteRule(Action.HOLD, Target.ORG_BODY, actor_field="by"),
    ("POST", "/legal-holds/{hold_id}/release"): RouteRule(Action.HOLD, Target.HOLD_PATH,
                                                          actor_field="by"),
    ("GET", "/legal-holds"): RouteRule(Action.READ_HOLDS, Target.LISTING),
    ("GET", "/calls/{call_id}/access"): RouteRule(Action.READ_ACCESS, Target.CALL),
    ("GET", "/calls/{call_id}/evidence"): RouteRule(Action.READ_ACCESS, Target.CALL),
}

# Answered to anyone, token or not: liveness and the API's own description.
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/health"),
    ("GET", "/integrity/public-key"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/{path:path}"),
})

# The console's pages (`recaudit.http.console`, not in the OpenAPI document): each is
# allowed to whom the API's routes it shows or drives are allowed, with the same reach.
CONSOLE_ROUTES: dict[tuple[str, str], RouteRule] = {
    ("GET", "/console/"): RouteRule(Action.READ_CALL, Target.LISTING),
    ("GET", "/console/dashboard"): RouteRule(Action.READ_CALL, Target.LISTING),
    ("GET", "/console/calls/{call_id}"): _READ_CALL,
    ("GET", "/console/agent/{call_id}"): RouteRule(Action.COMMAND, Target.CALL),
}

# The console's pages open to anyone: signing in and out (each checks what it is sent
# itself) and the static files.
CONSOLE_PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("GET", "/console/static/{path:path}"),
})

# Routes whose body is streamed to the route, which bounds it itself (audio chunks).
STREAMED: frozenset[tuple[str, str]] = frozenset({("POST", "/calls/{call_id}/audio")})
