"""Administrative HTTP routes: rebuilding the projections inside the running server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from recaudit.http.models import RebuildReport


def admin_router(rebuild_projections: Callable[[], dict[str, Any]]) -> APIRouter:
    """`POST /admin/projections/rebuild`: replay the event store into fresh projection tables,
    swap them in, and answer with what was done (409 rebuild_in_progress if one is running)."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.post("/projections/rebuild", response_model=RebuildReport)
    def rebuild() -> JSONResponse:
        """Replay the event store into fresh projection tables and swap them in."""
        return JSONResponse(rebuild_projections())

    return router
