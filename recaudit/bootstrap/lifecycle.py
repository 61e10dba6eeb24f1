"""Wiring the compliance lifecycle: the segment store's answers, and the retention sweep."""

from __future__ import annotations

import logging
from typing import Any

from consumers.segments import SegmentDesk, library
from recaudit.core.lifecycle import ComplianceService, RetentionCandidates
from recaudit.core.rounds import Rounds

log = logging.getLogger(__name__)
SWEEPER = "system"  # the actor the sweep inside `serve` records its deletions as


class SegmentFiles:
    """`RecordingFiles` over the segment desk: whether a recording's files are written,
    and the digest of its audio."""

    def __init__(self, desk: SegmentDesk) -> None:
        self.desk = desk

    def digest(self, call_id: str, recording_no: int, call_position: int | None
               ) -> tuple[bool, str | None]:
        audio = self.desk.call_audio(call_id)
        recording = audio.recordings.get(recording_no) if audio is not None else None
        if recording is None:
            # Nothing kept for it: settled once the desk has applied the call's events.
            return self.desk.position() >= (call_position or 0), None
        if not recording.finalised:
            return False, None
        document = self.manifest(call_id, recording_no)
        sha256 = document.get("sha256") if document else None
        return True, sha256 if isinstance(sha256, str) else None

    def applied_position(self) -> int:
        return self.desk.position()

    def manifest(self, call_id: str, recording_no: int) -> dict[str, Any] | None:
        for document in library.recordings(self.desk, call_id):
            if document.get("recording_no") == recording_no:
                return document
        return None

    def applied(self, call_id: str, recording_no: int, position: int | None
                ) -> dict[str, Any] | None:
        """The recording's manifest once the desk has applied `position` (else None)."""
        if position is not None and self.desk.position() < position:
            return None
        return self.manifest(call_id, recording_no)


class RetentionSweeper(Rounds):
    """Runs the retention sweep inside `serve`, every `interval` (a failed sweep leaves
    nothing half-done: the next one takes up what is left)."""

    def __init__(self, compliance: ComplianceService, candidates: RetentionCandidates, *,
                 interval_seconds: float) -> None:
        super().__init__("retention", self.run_once, interval_seconds, at_start=False)
        self.compliance = compliance
        self.candidates = candidates

    def run_once(self) -> None:
        report = self.compliance.run_retention(by=SWEEPER, candidates=self.candidates)
        if report.deleted or report.kept_for_hold:
            log.info("retention sweep: %d recordings checked, %d deleted, %d kept for legal "
                     "hold, %d pending", report.checked, len(report.deleted),
                     len(report.kept_for_hold), len(report.pending))
