"""Listing routes: `GET /calls` (call summaries in keyset pages) and `GET /policies`.

Both list only what the token reaches (`recaudit.access.scopes.reachable`): an agent's token
its own calls, an organisation's token its organisation, an `org=*` token everything.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field

from domain.errors import UnknownPolicy
from domain.rules import CallState, Mode
from recaudit.access.rules import Action
from recaudit.access.scopes import reachable
from recaudit.core.readmodel import DEFAULT_PAGE, MAX_PAGE, CallKey, CallQuery, Listings
from recaudit.core.service import RecordingService
from recaudit.http.api import Id, MinPosition, Strict, Timestamp
from recaudit.http.models import CallList, PolicyList


def _cursor(value: str | None) -> CallKey | None:
    return None if value is None else CallKey.decode(value)


def _check_cursor(value: str | None) -> str | None:
    _cursor(value)
    return value


class CallFilters(Strict):
    """The filters of `GET /calls`; every one is optional and they combine with AND."""

    org_id: Id | None = None
    agent_id: Id | None = None
    mode: Mode | None = None
    state: CallState | None = None
    started_from: Timestamp = Field(None, alias="from",
                                    description="calls started at or after this time")
    started_to: Timestamp = Field(None, alias="to", description="calls started before this time")
    q: str | None = Field(None, pattern=r"^[A-Za-z0-9._:@-]{1,128}$",
                          description="a prefix of the call id")
    refused: bool | None = Field(None, description="true: only calls with refusals; "
                                                   "false: only calls without")
    min_pause_ms: int | None = Field(None, ge=0, le=2**62,
                                     description="only calls with a pause at least this long")
    legal_hold: bool | None = Field(
        None, description="true: only calls under an active legal hold (on the call, on an "
                          "agent who had it, or on its whole organisation); false: only "
                          "calls under none")
    after: Annotated[str | None, AfterValidator(_check_cursor)] = Field(
        None, max_length=400, description="the `next` cursor of the previous page")
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="calls per page")
    min_position: MinPosition = None


class PolicyFilters(Strict):
    org_id: Id | None = None


def listings_router(service: RecordingService, listings: Listings) -> APIRouter:
    router = APIRouter(tags=["listings"])

    @router.get("/calls", response_model=CallList)
    def list_calls(request: Request, filters: Annotated[CallFilters, Query()]) -> JSONResponse:
        """Call summaries, newest first (by start, then call id), in pages: pass `next` as
        `after` for the following page. Only the calls the token reaches are listed."""
        reach = reachable(_principal(request), Action.READ_CALL, filters.org_id,
                          filters.agent_id)
        query = CallQuery(
            org_ids=reach.org_ids, agent_id=reach.agent_id, mode=filters.mode,
            state=filters.state, started_from=filters.started_from,
            started_to=filters.started_to, call_id_prefix=filters.q, refused=filters.refused,
            min_pause_ms=filters.min_pause_ms, legal_hold=filters.legal_hold,
            after=_cursor(filters.after), limit=filters.limit,
        )
        return JSONResponse(listings.calls(query, filters.min_position).to_json())

    @router.get("/policies", response_model=PolicyList)
    def list_policies(request: Request,
                      filters: Annotated[PolicyFilters, Query()]) -> JSONResponse:
        """The policies (with their overrides and history) of the organisation asked for,
        or of every organisation the token reaches."""
        reach = reachable(_principal(request), Action.READ_POLICY, filters.org_id)
        orgs = list(reach.org_ids) if reach.org_ids is not None else listings.policy_orgs()
        return JSONResponse({"policies": [p for org in orgs if (p := _policy(service, org))]})

    return router


def _principal(request: Request) -> Any:
    return getattr(request.state, "principal", None)


def _policy(service: RecordingService, org_id: str) -> dict[str, Any] | None:
    try:
        return service.policy(org_id).to_json()
    except UnknownPolicy:
        return None
