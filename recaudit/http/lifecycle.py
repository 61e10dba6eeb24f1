"""The compliance lifecycle's routes: retention, erasure, legal holds and access logs.

Who may call which is in `routes.py` (admins set retention and erase; auditors and
admins place and release holds and read access logs). Reads of a call are recorded
by `reads.ReadLog`, which the read routes call once they have an answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from domain.clock import iso_millis
from domain.ids import ID_PATTERN
from domain.lifecycle import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, DeletionReason
from recaudit.core.lifecycle import ComplianceService, RetentionCandidates, RetentionReport
from recaudit.core.views import hold_json
from recaudit.http import models
from recaudit.http.api import Actor, Id, Reason, Strict

CallIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
OrgIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
AudioDays = Annotated[int, Field(strict=True, ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS,
                                 description="days after its call ended that a recording's "
                                             "audio is kept")]
CaseName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$",
                                description="the legal case or matter the hold is for")]
# How long an erasure waits for the segment store to have removed the audio.
ERASURE_WAIT_S = 10.0


class RetentionBody(Strict):
    audio_days: AudioDays | None = Field(description="null: audio is kept for ever")
    changed_by: Actor
    reason: Reason | None = None


class RetentionRunBody(Strict):
    by: Actor
    dry_run: bool = False


class ErasureBody(Strict):
    by: Actor
    reason: Reason = Field(min_length=1, description="why the audio is erased (required)")


class HoldBody(Strict):
    """A hold on one call (`call_id`), one agent's calls (`agent_id`), or, with neither,
    every call of the organisation."""

    org_id: Id
    call_id: Id | None = None
    agent_id: Id | None = None
    case: CaseName
    by: Actor
    reason: Reason | None = None

    @model_validator(mode="after")
    def one_scope(self) -> HoldBody:
        if self.call_id is not None and self.agent_id is not None:
            raise ValueError("a hold names a call_id or an agent_id, not both (neither: the "
                             "whole organisation)")
        return self


class ReleaseBody(Strict):
    by: Actor
    reason: Reason | None = None


def report_json(report: RetentionReport) -> dict[str, Any]:
    def pairs(items: list[tuple[str, int]]) -> list[dict[str, Any]]:
        return [{"call_id": c, "recording_no": n} for c, n in items]

    return {"checked": report.checked, "deleted": pairs(report.deleted),
            "kept_for_hold": pairs(report.kept_for_hold), "pending": pairs(report.pending),
            "dry_run": report.dry_run}


def lifecycle_router(compliance: ComplianceService, candidates: RetentionCandidates,
                     recording: Callable[[str, int, int | None], dict[str, Any] | None]
                     ) -> APIRouter:
    """`recording(call_id, n, position)`: the recording's manifest once the segment store
    has applied `position` (None while it has not)."""
    router = APIRouter(tags=["compliance"])

    @router.put("/policies/{org_id}/retention", response_model=models.Policy)
    def put_retention(org_id: OrgIdPath, body: RetentionBody) -> JSONResponse:
        """Set how long the organisation's recordings' audio is kept after its calls end."""
        policy = compliance.set_retention(org_id, audio_days=body.audio_days,
                                          changed_by=body.changed_by, reason=body.reason)
        return JSONResponse(policy.to_json())

    @router.post("/admin/retention/run", response_model=models.RetentionReport)
    def run_retention(body: RetentionRunBody) -> JSONResponse:
        """Delete the audio of every recording past retention and not under legal hold."""
        report = compliance.run_retention(by=body.by, candidates=candidates,
                                          dry_run=body.dry_run)
        return JSONResponse(report_json(report))

    @router.delete("/calls/{call_id}/recordings/{recording_no}",
                   response_model=models.Manifest)
    def erase(call_id: CallIdPath, recording_no: int, body: ErasureBody) -> JSONResponse:
        """Erase one recording's audio on request; its manifest stays, marked deleted."""
        result = compliance.delete_recording(call_id, recording_no, by=body.by,
                                             reason=DeletionReason.ERASURE, note=body.reason)
        deadline = time.monotonic() + ERASURE_WAIT_S
        document = recording(call_id, recording_no, result.position)
        while document is None and time.monotonic() < deadline:
            time.sleep(0.02)
            document = recording(call_id, recording_no, result.position)
        if document is None:  # the segment store is behind: it will remove the audio
            deletion = result.deletion
            document = {"recording_no": recording_no, "state": "deleted",
                        "deleted_at": iso_millis(deletion.at), "deleted_by": deletion.by,
                        "deleted_reason": deletion.reason.value,
                        "deleted_note": deletion.note}
        return JSONResponse(document)

    @router.post("/legal-holds", status_code=201, response_model=models.Hold)
    def place_hold(body: HoldBody) -> JSONResponse:
        """Place a legal hold on a call, an agent's calls, or a whole organisation."""
        hold = compliance.place_hold(body.org_id, call_id=body.call_id,
                                     agent_id=body.agent_id, case=body.case, by=body.by,
                                     reason=body.reason)
        return JSONResponse(hold_json(hold), 201)

    @router.post("/legal-holds/{hold_id}/release", response_model=models.Hold)
    def release_hold(hold_id: str, body: ReleaseBody) -> JSONResponse:
        """Release a legal hold: its recordings may be deleted again."""
        return JSONResponse(hold_json(compliance.release_hold(hold_id, by=body.by,
                                                              reason=body.reason)))

    @router.get("/legal-holds", response_model=list[models.Hold])
    def list_holds(org_id: Annotated[str, Query(pattern=ID_PATTERN)],
                   active: bool | None = None) -> JSONResponse:
        """The organisation's legal holds (`active`: only active, or only released)."""
        return JSONResponse([hold_json(h) for h in compliance.holds(org_id, active=active)])

    @router.get("/calls/{call_id}/access", response_model=list[models.Access])
    def access_log(call_id: CallIdPath) -> JSONResponse:
        """Every recorded read of the call's timeline, recordings, audio and evidence."""
        return JSONResponse([
            {"what": e.what, "recording_no": e.recording_no, "by": e.by, "role": e.role,
             "at": iso_millis(e.at), "version": e.originator_version}
            for e in compliance.access_log(call_id)
        ])

    return router
