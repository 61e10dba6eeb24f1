"""Who may do what: the role table and the access rule of every route.

A role grants actions, each with a reach: `OWN` (calls whose agent is the token's
agent, in its organisation), `ORG` (the token's organisation; every organisation for
an `org=*` token) or `ALL` (only an `org=*` token). A route not listed here is refused
to every token (default deny).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from recaudit.access.tokens import Role


class Action(str, Enum):
    START_CALL = "start calls"
    COMMAND = "send recording commands and end calls"
    READ_CALL = "read calls, timelines and recordings"
    SEND_AUDIO = "send call audio"
    READ_POLICY = "read policies"
    SET_POLICY = "set policies"
    REBUILD = "rebuild the projections"


class Reach(str, Enum):
    OWN = "own"
    ORG = "org"
    ALL = "all"


PERMISSIONS: dict[Role, dict[Action, Reach]] = {
    Role.AGENT: {
        Action.START_CALL: Reach.OWN,
        Action.COMMAND: Reach.OWN,
        Action.READ_CALL: Reach.OWN,
    },
    Role.SUPERVISOR: {
        Action.START_CALL: Reach.ORG,
        Action.COMMAND: Reach.ORG,
        Action.READ_CALL: Reach.ORG,
        Action.READ_POLICY: Reach.ORG,
    },
    Role.AUDITOR: {
        Action.READ_CALL: Reach.ORG,
        Action.READ_POLICY: Reach.ORG,
    },
    Role.ADMIN: {
        Action.READ_POLICY: Reach.ORG,
        Action.SET_POLICY: Reach.ORG,
        Action.REBUILD: Reach.ALL,
    },
    Role.MEDIA: {
        Action.SEND_AUDIO: Reach.ORG,
    },
}


class Target(str, Enum):
    """Where a route's organisation (and agent) come from."""

    CALL = "the call named in the path"
    ORG_PATH = "the organisation named in the path"
    NEW_CALL = "the organisation and agent named in the body"
    NONE = "nothing: the whole deployment"


@dataclass(frozen=True)
class RouteRule:
    action: Action
    target: Target
    actor_field: str | None = None  # a body field that must name the token's holder


_COMMAND = RouteRule(Action.COMMAND, Target.CALL, actor_field="by")
_SET_POLICY = RouteRule(Action.SET_POLICY, Target.ORG_PATH, actor_field="changed_by")
_READ_CALL = RouteRule(Action.READ_CALL, Target.CALL)

ROUTES: dict[tuple[str, str], RouteRule] = {
    ("PUT", "/policies/{org_id}"): _SET_POLICY,
    ("PUT", "/policies/{org_id}/agents/{agent_id}"): _SET_POLICY,
    ("GET", "/policies/{org_id}"): RouteRule(Action.READ_POLICY, Target.ORG_PATH),
    ("POST", "/calls"): RouteRule(Action.START_CALL, Target.NEW_CALL),
    ("POST", "/calls/{call_id}/recording/start"): _COMMAND,
    ("POST", "/calls/{call_id}/recording/pause"): _COMMAND,
    ("POST", "/calls/{call_id}/recording/resume"): _COMMAND,
    ("POST", "/calls/{call_id}/recording/stop"): _COMMAND,
    ("POST", "/calls/{call_id}/end"): _COMMAND,
    ("GET", "/calls/{call_id}"): _READ_CALL,
    ("GET", "/calls/{call_id}/timeline"): _READ_CALL,
    ("GET", "/calls/{call_id}/recordings"): _READ_CALL,
    ("GET", "/calls/{call_id}/recordings/{recording_no}.wav"): _READ_CALL,
    ("POST", "/calls/{call_id}/audio"): RouteRule(Action.SEND_AUDIO, Target.CALL),
    ("POST", "/admin/projections/rebuild"): RouteRule(Action.REBUILD, Target.NONE),
}

# Answered to anyone, token or not: liveness and the API's own description.
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
})

# Routes whose body is streamed to the route, which bounds it itself (audio chunks).
STREAMED: frozenset[tuple[str, str]] = frozenset({("POST", "/calls/{call_id}/audio")})
