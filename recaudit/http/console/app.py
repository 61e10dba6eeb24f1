"""Putting the console into the app: its static files, its pages and its headers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from consumers.segments import SegmentDesk
from recaudit.access.tokens import TokenTable
from recaudit.core.lifecycle import ComplianceService
from recaudit.core.readmodel import Dashboards, Listings, TimelineReader
from recaudit.core.service import RecordingService
from recaudit.http.console.headers import ConsoleHeaders
from recaudit.http.console.pages import Sources, console_router
from recaudit.http.console.sessions import SessionStore
from recaudit.http.console.signin import signin_router
from recaudit.http.reads import ReadLog

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI, service: RecordingService, *, listings: Listings,
                    timelines: TimelineReader, dashboards: Dashboards, tokens: TokenTable,
                    sessions: SessionStore, segments: SegmentDesk | None = None,
                    compliance: ComplianceService | None = None,
                    reads: ReadLog | None = None) -> None:
    """Serve the console under /console/ from the app's own service and read models;
    with tokens configured, a person signs in (`signin.py`) and the access gate lets each
    page through as it would the API's routes the page shows."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(STATIC)), name="console-static")
    sources = Sources(service=service, listings=listings, timelines=timelines,
                      dashboards=dashboards, segments=segments, compliance=compliance,
                      reads=reads)
    app.include_router(signin_router(tokens, sessions), prefix=PREFIX, include_in_schema=False)
    app.include_router(console_router(sources), prefix=PREFIX, include_in_schema=False)
    app.add_middleware(ConsoleHeaders, prefix=PREFIX)
