"""Who may do what: the role table, and the shape of a route's access rule.

A role grants actions, each with a reach: `OWN` (calls whose agent is the token's
agent, in its organisation), `ORG` (the token's organisation; every organisation for
an `org=*` token) or `ALL` (only an `org=*` token). A route not listed here is refused
to every token (default deny); the routes' rules are in `recaudit.http.routes`.
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
    ANALYTICS = "run the analyst queries"
    SET_RETENTION = "set retention"
    RUN_RETENTION = "run the retention sweep"
    ERASE = "erase recordings"
    HOLD = "place and release legal holds"
    READ_HOLDS = "read legal holds"
    READ_ACCESS = "read access logs and evidence bundles"


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
        Action.ANALYTICS: Reach.ALL,
        Action.HOLD: Reach.ORG,
        Action.READ_HOLDS: Reach.ORG,
        Action.READ_ACCESS: Reach.ORG,
    },
    Role.ADMIN: {
        Action.READ_POLICY: Reach.ORG,
        Action.SET_POLICY: Reach.ORG,
        Action.REBUILD: Reach.ALL,
        Action.ANALYTICS: Reach.ALL,
        Action.SET_RETENTION: Reach.ORG,
        Action.RUN_RETENTION: Reach.ALL,
        Action.ERASE: Reach.ORG,
        Action.HOLD: Reach.ORG,
        Action.READ_HOLDS: Reach.ORG,
        Action.READ_ACCESS: Reach.ORG,
    },
    Role.MEDIA: {
        Action.SEND_AUDIO: Reach.ORG,
    },
}


# What an agent's token may still do on a call it had before a transfer: read it. Sending
# commands is for the agent who has the call now (a former agent is refused 403).
FORMER_HOLDER_ACTIONS: frozenset[Action] = frozenset({Action.READ_CALL})


class Target(str, Enum):
    """Where a route's organisation (and agent) come from."""

    CALL = "the call named in the path"
    ORG_PATH = "the organisation named in the path"
    NEW_CALL = "the organisation and agent named in the body"
    LISTING = "the organisation (and agent) named in the query, else all the token reaches"
    ORG_BODY = "the organisation named in the body"
    HOLD_PATH = "the organisation whose hold the path names"
    NONE = "nothing: the whole deployment"


@dataclass(frozen=True)
class RouteRule:
    action: Action
    target: Target
    actor_field: str | None = None  # a body field that must name the token's holder
