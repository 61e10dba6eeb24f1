"""The gate every HTTP request passes before its route: body size, token, permission.

An ASGI middleware. For every route but the streamed audio route it reads the body
(refusing one larger than the limit with 413 `body_too_large`), and when tokens are
configured it authenticates the bearer token (401 `unauthenticated`) and checks the
route's access rule (403 `forbidden`; 404 `unknown_call` for a call the token may not
see; 409 `call_id_taken`; 422 when the body names another actor than the token). A
refused request never reaches its route, so nothing is recorded.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from eventsourcing.persistence import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.errors import CallIdTaken as CallIdInUse
from domain.errors import UnknownCall
from domain.ids import ID_PATTERN
from domain.lifecycle import org_of_hold
from recaudit.access.errors import (
    ActorMismatch,
    CallIdTaken,
    CsrfMissing,
    Forbidden,
    NotVisible,
    Refused,
    Unauthenticated,
)
from recaudit.access.rules import (
    FORMER_HOLDER_ACTIONS,
    PERMISSIONS,
    Action,
    Reach,
    RouteRule,
    Target,
)
from recaudit.access.scopes import CallOwner, CallOwners
from recaudit.access.tokens import EVERY_ORG, Principal, TokenTable
from recaudit.core.health import StoreUnavailable
from recaudit.http.body import ClientGone, read_limited, replay
from recaudit.http.console.sessions import CSRF_HEADER, SessionStore, cookie_value
from recaudit.http.errors import answer, answer_for
from recaudit.http.routes import CONSOLE_PUBLIC, CONSOLE_ROUTES, PUBLIC, ROUTES, STREAMED

log = logging.getLogger(__name__)
RouteKey = tuple[str, str]
ID = re.compile(ID_PATTERN)
UNLISTED: RouteKey = ("*", "a route no access rule names")
RULES: dict[RouteKey, RouteRule] = {**ROUTES, **CONSOLE_ROUTES}
OPEN: frozenset[RouteKey] = PUBLIC | CONSOLE_PUBLIC
SAFE_METHODS = frozenset({"GET", "HEAD"})
# How a refusal of a console page is answered (an HTML page, or the way to sign in).
PageRefusal = Callable[[Exception, Scope], ASGIApp]


class AccessGate:
    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute], tokens: TokenTable,
                 owners: CallOwners, max_body: int, sessions: SessionStore | None = None,
                 pages: PageRefusal | None = None, console: str = "/console/") -> None:
        self.app = app
        self.routes = routes
        self.tokens = tokens
        self.owners = owners
        self.max_body = max_body
        self.sessions = sessions
        self.pages = pages
        self.console = console
        # Each rule's template compiled once, grouped by the methods that have a rule for it
        # and by its first path segment (in the rules' order of templates): a request is only
        # matched against the templates that could answer it.
        templates = list(dict.fromkeys(template for _method, template in (*RULES, *OPEN)))
        compiled = {template: compile_path(template)[::2] for template in templates}
        self.by_route: dict[tuple[str, str], list[tuple[str, Any]]] = {}
        for method, template in sorted(dict.fromkeys((*RULES, *OPEN)),
                                       key=lambda key: templates.index(key[1])):
            segment = _first_segment(template)
            if "{" in segment:
                raise ValueError(f"a rule's path must begin with a literal segment: {template}")
            self.by_route.setdefault((method, segment), []).append(
                (template, compiled[template]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._admit(scope, receive)
        except ClientGone:
            return
        except (Refused, StoreUnavailable) as exc:
            page = self.pages is not None and _route_path(scope).startswith(self.console)
            refusal = self.pages(exc, scope) if self.pages is not None and page else answer(exc)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> Receive:
        key, params = self._route(scope)
        principal = None
        if self.tokens.enabled and key not in OPEN:
            principal = self._authenticate(scope)
        body = None if key in STREAMED else await read_limited(scope, receive, self.max_body)
        if principal is not None:
            scope.setdefault("state", {})["principal"] = principal
            if key is not None:
                await self._authorize(principal, key, params, body, scope)
        return receive if body is None else replay(body, receive)

    def _route(self, scope: Scope) -> tuple[RouteKey | None, dict[str, Any]]:
        """The (method, path template) of the route that will answer, and its path values.

        The templates come from the access rules; a request that one of the app's routes
        would answer although no rule names it gets the key UNLISTED (refused to every token).
        """
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        path = _route_path(scope)
        for template, (pattern, convertors) in self.by_route.get(
                (method, _first_segment(path)), ()):
            found = pattern.match(path)
            if found is not None:
                params = {k: convertors[k].convert(v) for k, v in found.groupdict().items()}
                return (method, template), params
        if any(route.matches(scope)[0] is Match.FULL for route in self.routes):
            return UNLISTED, {}
        return None, {}

    def _authenticate(self, scope: Scope) -> Principal:
        given = [v for k, v in scope.get("headers", ()) if k == b"authorization"]
        if not given and self.sessions is not None:
            session_id = cookie_value(scope.get("headers", ()))
            if session_id is not None:
                return self._session(scope, session_id)
        if not given:
            raise Unauthenticated("this server requires an access token: send "
                                  "Authorization: Bearer <token>")
        scheme, _, token = given[0].decode("latin-1").strip().partition(" ")
        principal = self.tokens.principal(token.strip()) if len(given) == 1 else None
        if scheme.lower() != "bearer" or principal is None:
            raise Unauthenticated("the access token is not valid (send exactly one "
                                  "Authorization: Bearer <token> header)", invalid=True)
        return principal

    def _session(self, scope: Scope, session_id: str) -> Principal:
        """The principal of a console session; a state-changing request must carry the
        session's CSRF token (header `X-CSRF-Token`)."""
        assert self.sessions is not None
        session = self.sessions.get(session_id)
        if session is None:
            raise Unauthenticated("the console session has expired or was closed: sign in "
                                  "again at /console/login", invalid=True)
        if scope["method"] not in SAFE_METHODS:
            given = [v for k, v in scope.get("headers", ()) if k == CSRF_HEADER.encode()]
            if len(given) != 1 or not session.allows(given[0].decode("latin-1")):
                raise CsrfMissing("a console request that changes anything must carry the "
                                  "session's CSRF token (X-CSRF-Token); reload the page")
        scope.setdefault("state", {})["console_session"] = session
        return session.principal

    async def _authorize(self, who: Principal, key: RouteKey, params: dict[str, Any],
                         body: bytes | None, scope: Scope) -> None:
        rule = RULES.get(key)
        if rule is None:
            raise _refused(who, key, Forbidden("no access rule covers this route; it is "
                                               "refused to every token"))
        reach = PERMISSIONS[who.role].get(rule.action)
        if reach is None:
            raise _refused(who, key, Forbidden(
                f"the {who.role.value} role may not {rule.action.value}"))
        document = _json_object(body)
        if rule.actor_field is not None:
            _check_actor(who, rule.actor_field, document)
        try:
            await self._check_target(who, rule, reach, params, document, _query(scope))
        except Refused as exc:
            raise _refused(who, key, exc) from None

    async def _check_target(self, who: Principal, rule: RouteRule, reach: Reach,
                            params: dict[str, Any], document: dict[str, Any] | None,
                            query: dict[str, str]) -> None:
        if rule.target is Target.NONE:
            if not reaches(who, reach, None):
                raise Forbidden(f"only a token for every organisation (org=*) may "
                                f"{rule.action.value}")
        elif rule.target is Target.ORG_PATH:
            org_id = params.get("org_id")
            if _valid(org_id) and not who.covers(org_id):
                raise Forbidden(f"this token may not {rule.action.value} of organisation "
                                f"{org_id!r}")
        elif rule.target is Target.LISTING:
            _check_listing(who, rule, reach, query)
        elif rule.target in (Target.ORG_BODY, Target.HOLD_PATH):
            org_id = (document or {}).get("org_id") if rule.target is Target.ORG_BODY else \
                org_of_hold(str(params.get("hold_id", "")))
            if _valid(org_id) and not who.covers(org_id):
                raise Forbidden(f"this token may not {rule.action.value} of organisation "
                                f"{org_id!r}")
        elif rule.target is Target.CALL:
            call_id = params.get("call_id")
            if _valid(call_id):
                _check_call(who, rule.action, reach, await self._owner(call_id, reach), call_id)
        else:
            await self._check_new_call(who, reach, document)

    async def _check_new_call(self, who: Principal, reach: Reach,
                              document: dict[str, Any] | None) -> None:
        if document is None:
            return  # not a JSON object: the route refuses it
        org_id, agent_id = document.get("org_id"), document.get("agent_id")
        if not isinstance(org_id, str) or not isinstance(agent_id, str):
            return
        if not reaches(who, reach, CallOwner(org_id, agent_id)):
            whose = f"agent {who.agent_id!r} of " if reach is Reach.OWN else ""
            raise Forbidden(f"this token may only start calls of {whose}organisation "
                            f"{who.org!r}")
        call_id = document.get("call_id")
        if _valid(call_id):
            owner = await self._owner(call_id, reach)
            if owner is not None and not reaches(who, reach, owner):
                if had(who, reach, owner):
                    raise Forbidden(_transferred(call_id, Action.START_CALL))
                raise CallIdTaken(str(CallIdInUse(call_id)))

    async def _owner(self, call_id: str, reach: Reach) -> CallOwner | None:
        """The call's owner; for a token that reaches only its own calls, with the agents as
        they stand now (a transfer changes them)."""
        if self.owners.store_down:
            raise StoreUnavailable(self.owners.service.health.last_error)
        try:
            return await run_in_threadpool(self.owners, call_id, current=reach is Reach.OWN)
        except (OperationalError, InterfaceError) as exc:
            self.owners.service.health.mark_down(exc)
            raise StoreUnavailable(exc) from exc


def _query(scope: Scope) -> dict[str, str]:
    """The query's values; the last of a repeated name wins, as for the routes."""
    text = bytes(scope.get("query_string", b"")).decode("latin-1")
    return dict(parse_qsl(text, keep_blank_values=True))


def _check_listing(who: Principal, rule: RouteRule, reach: Reach, query: dict[str, str]) -> None:
    """A listing may not name an organisation, or (for an agent) an agent, out of reach;
    without one it covers what the token reaches (`recaudit.access.scopes.reachable`)."""
    org_id, agent_id = query.get("org_id"), query.get("agent_id")
    if _valid(org_id) and not who.covers(org_id):
        raise Forbidden(f"this token may not {rule.action.value} of organisation {org_id!r}")
    if reach is Reach.OWN and _valid(agent_id) and agent_id != who.agent_id:
        raise Forbidden(f"this token may only {rule.action.value} of agent {who.agent_id!r}")


def _first_segment(path: str) -> str:
    """"calls" of "/calls/c1/end"; a template's first segment is always literal."""
    return path[1:].partition("/")[0]


def _route_path(scope: Scope) -> str:
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path


def reaches(who: Principal, reach: Reach, owner: CallOwner | None) -> bool:
    """Whether `who`, granted `reach`, covers a call of `owner` (None: the deployment)."""
    if reach is Reach.ALL or owner is None:
        return reach is Reach.ALL and who.org == EVERY_ORG
    if not who.covers(owner.org_id):
        return False
    return reach is Reach.ORG or owner.agent_id == who.agent_id


def had(who: Principal, reach: Reach, owner: CallOwner) -> bool:
    """Whether `who`, reaching its own calls only, had the call before it was transferred."""
    return reach is Reach.OWN and who.covers(owner.org_id) and who.agent_id in owner.former


def _check_call(who: Principal, action: Action, reach: Reach, owner: CallOwner | None,
                call_id: str) -> None:
    """A call's route: the agent who has the call may do what its role allows; one who had
    it may read it (403 for anything else); to any other token it does not exist (404)."""
    if reaches(who, reach, owner):
        return
    if owner is not None and had(who, reach, owner):
        if action in FORMER_HOLDER_ACTIONS:
            return
        raise Forbidden(_transferred(call_id, action))
    raise NotVisible(str(UnknownCall(call_id)))


def _transferred(call_id: str, action: Action) -> str:
    return (f"call {call_id!r} was transferred to another agent: this token may still read "
            f"it, but only the agent who has it now may {action.value}")


def _valid(value: object) -> TypeGuard[str]:
    """An id the route would accept; anything else the route itself refuses (422)."""
    return isinstance(value, str) and ID.fullmatch(value) is not None


def _json_object(body: bytes | None) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # the route itself refuses it
        return None
    return document if isinstance(document, dict) else None


def _check_actor(who: Principal, field: str, document: dict[str, Any] | None) -> None:
    given = None if document is None else document.get(field)
    if isinstance(given, str) and given != who.name:
        raise ActorMismatch(field, who.name)


def _refused(who: Principal, key: RouteKey, exc: Refused) -> Refused:
    log.info("access refused (%s) to %s for %s %s: %s", answer_for(exc).code, who.describe(),
             *key, exc)
    return exc

