"""The console's pages: each route reads what it shows and renders one template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from consumers.segments import SegmentDesk, library
from consumers.segments.errors import SegmentError
from domain.clock import iso_millis
from domain.errors import DomainError
from domain.lifecycle import ReadKind
from domain.rules import Command
from recaudit.access.errors import Refused
from recaudit.access.rules import PERMISSIONS, Action
from recaudit.access.tokens import Principal
from recaudit.core.health import StoreUnavailable
from recaudit.core.lifecycle import ComplianceService
from recaudit.core.readmodel import Dashboards, Listings, ReadModelError, TimelineReader
from recaudit.core.service import RecordingService
from recaudit.core.views import CallStatus, TimelineView
from recaudit.http.api import CallIdPath
from recaudit.http.console import dashboard, listing, svg
from recaudit.http.errors import answer_for
from recaudit.http.reads import ReadLog
from recaudit.http.routes import COMMAND_PATHS, command_path

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# The labels of the agent's client, as the vendor's clients show them (docs/rules.md).
LABELS: dict[str, str] = {
    Command.START.value: "Start Recording",
    Command.PAUSE.value: "Pause Recording",
    Command.RESUME.value: "Resume Recording",
    Command.STOP.value: "Stop Recording",
    Command.END.value: "End Call",
}
# The call page's sections, in order: one partial each, templates/call/<name>.html.
SECTIONS = ("status", "timeline", "intervals", "agents", "refusals", "recordings",
            "compliance", "access")
# The errors a page shows as an error page (with the API's status and code).
PAGE_ERRORS = (DomainError, ReadModelError, Refused, StoreUnavailable, SegmentError)


@dataclass(frozen=True)
class Sources:
    """What the console reads: the service, the read models and the recordings."""

    service: RecordingService
    listings: Listings
    timelines: TimelineReader
    dashboards: Dashboards
    segments: SegmentDesk | None = None
    compliance: ComplianceService | None = None  # holds and the access log
    reads: ReadLog | None = None  # records the reads a call page makes


def duration(ms: int | None) -> str:
    """Milliseconds as h:mm:ss.mmm (m:ss.mmm under an hour); a running call has none yet."""
    if ms is None:
        return "running"
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    head = f"{hours}:{minutes:02d}" if hours else f"{minutes}"
    return f"{head}:{seconds:02d}.{millis:03d}"


TEMPLATES.env.trim_blocks = TEMPLATES.env.lstrip_blocks = True
TEMPLATES.env.filters.update(iso=lambda at: iso_millis(at) if at else "", duration=duration)


def principal(request: Request) -> Principal | None:
    """Who is signed in (None: access control is off)."""
    return getattr(request.state, "principal", None)


def render(request: Request, template: str, context: dict[str, Any],
           status: int = 200) -> HTMLResponse:
    """`template` with `context`, and who is signed in (with the session's CSRF token)."""
    session = getattr(request.state, "console_session", None)
    signed = {"who": session.principal, "csrf_token": session.csrf} if session else {}
    return TEMPLATES.TemplateResponse(request, template, {**context, **signed},
                                      status_code=status)


async def page(request: Request, template: str,
               read: Callable[[], dict[str, Any]]) -> HTMLResponse:
    """`template` with what `read` returns (run off the event loop), or the error page."""
    try:
        context = await run_in_threadpool(read)
    except PAGE_ERRORS as exc:
        found = answer_for(exc)
        return render(request, "error.html", {"code": found.code, "message": str(exc)},
                      found.status)
    return render(request, template, context)


def console_router(sources: Sources) -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    async def calls(request: Request) -> HTMLResponse:
        query = dict(request.query_params)

        def read() -> dict[str, Any]:
            return listing.call_page(sources.listings, principal(request), query)

        try:
            return await page(request, "calls.html", read)
        except listing.BadFilters as exc:
            context = listing.refused_page(listing.given(query), str(exc))
            return render(request, "calls.html", context, 422)

    @router.get("/agent/{call_id}", response_class=HTMLResponse)
    async def agent_client(request: Request, call_id: CallIdPath) -> HTMLResponse:
        def read() -> dict[str, Any]:
            status = sources.service.call(call_id).status
            who = principal(request)
            actor = who.name if who is not None else status.agent_id
            return {"call_id": call_id, "actor": actor, "labels": LABELS,
                    "status_url": f"/calls/{call_id}",
                    "paths": {c.value: command_path(c, call_id) for c in COMMAND_PATHS
                              if c.value in LABELS}}

        return await page(request, "agent.html", read)

    @router.get("/dashboard", response_class=HTMLResponse)
    async def dashboard_view(request: Request) -> HTMLResponse:
        query = dict(request.query_params)

        def read() -> dict[str, Any]:
            return dashboard.dashboard_page(sources.dashboards, principal(request), query)

        try:
            return await page(request, "dashboard.html", read)
        except listing.BadFilters as exc:
            context = {"filters": listing.given(query), "problem": str(exc), "figures": None}
            return render(request, "dashboard.html", context, 422)

    @router.get("/calls/{call_id}", response_class=HTMLResponse)
    async def call_page(request: Request, call_id: CallIdPath) -> HTMLResponse:
        return await page(request, "call.html",
                          lambda: call_context(sources, call_id, request))

    return router


def call_context(sources: Sources, call_id: str, request: Request) -> dict[str, Any]:
    """What the call page shows: status, timeline (as of the status), its picture, the
    recordings' manifests, the holds on the call and its access log. The page's reads of
    the timeline and the recordings are recorded like the API's."""
    result = sources.service.call(call_id)
    timeline = sources.timelines.timeline(call_id, result.position)
    recordings = library.recordings(sources.segments, call_id) if sources.segments else []
    context = {"status": result.status, "timeline": timeline, "sections": SECTIONS,
               "picture": svg.draw(timeline, datetime.now(UTC)), "recordings": recordings,
               **compliance_context(sources, result.status, timeline, principal(request))}
    if sources.reads is not None:
        sources.reads.record(request, call_id, ReadKind.TIMELINE)
        if sources.segments is not None:
            sources.reads.record(request, call_id, ReadKind.RECORDINGS)
    return context


def compliance_context(sources: Sources, status: CallStatus, timeline: TimelineView,
                       who: Principal | None) -> dict[str, Any]:
    """The active holds on the call; its access log and bundle for those who may read them."""
    if sources.compliance is None:
        return {"holds": [], "access": None, "may_audit": False}
    holders = {holding.agent_id for holding in timeline.agents}
    holds = [h for h in sources.compliance.holds(status.org_id, active=True)
             if h.covers(status.call_id, holders)]
    may_audit = who is None or Action.READ_ACCESS in PERMISSIONS[who.role]
    access = sources.compliance.access_log(status.call_id) if may_audit else None
    return {"holds": holds, "access": access, "may_audit": may_audit}
