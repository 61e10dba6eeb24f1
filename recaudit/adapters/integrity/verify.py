"""Verification: recompute the chains from the raw events and recordings, report what differs.

Everything is read in one read-only snapshot of the database, so a sealer or a
writer running meanwhile cannot make events and seals look out of step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recaudit.adapters.integrity.audiocheck import check_recordings
from recaudit.adapters.integrity.chain import GENESIS
from recaudit.adapters.integrity.database import ChainDatabase, paged
from recaudit.adapters.integrity.deleted import TOPIC as DELETED_TOPIC
from recaudit.adapters.integrity.deleted import DeletedRecording, deletions
from recaudit.adapters.integrity.eventcheck import EventCheck
from recaudit.adapters.integrity.findings import Finding, Kind
from recaudit.adapters.integrity.head import ChainHead, check_head, current_head
from recaudit.adapters.integrity.names import name_streams
from recaudit.adapters.integrity.recordings import RecordingFiles

PAGE = 5000


@dataclass
class Report:
    head: ChainHead
    findings: list[Finding] = field(default_factory=list)
    sealed_events: int = 0
    unsealed_events: int = 0
    sealed_recordings: int = 0
    unsealed_recordings: int = 0
    deleted: list[DeletedRecording] = field(default_factory=list)  # with a record: no finding

    @property
    def clean(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        verdict = "clean" if self.clean else f"{len(self.findings)} finding(s)"
        return (f"{verdict}: {self.sealed_events} events sealed up to position "
                f"{self.head.position} ({self.unsealed_events} after it not sealed yet), "
                f"{self.sealed_recordings} recordings sealed "
                f"({self.unsealed_recordings} not sealed yet), {len(self.deleted)} "
                "recordings deleted with a record")

    def to_json(self) -> dict[str, Any]:
        return {"clean": self.clean, "head": vars(self.head),
                "sealed_events": self.sealed_events, "unsealed_events": self.unsealed_events,
                "sealed_recordings": self.sealed_recordings,
                "unsealed_recordings": self.unsealed_recordings,
                "deleted_recordings": [d.to_json() for d in self.deleted],
                "findings": [finding.to_json() for finding in self.findings]}


def verify(db: ChainDatabase, files: RecordingFiles | None,
           exported: ChainHead | None = None) -> Report:
    with db.snapshot():
        if not db.has_chain():
            return _unsealed(db, files, exported)
        seals = db.recording_seals()
        report = Report(current_head(db, seals), sealed_recordings=len(seals))
        check = EventCheck()
        report.findings += check.run(paged(db.links, PAGE), paged(db.events, PAGE))
        report.sealed_events, report.unsealed_events = check.links.count, check.unsealed
        deleted = deletions(db.topic_states(DELETED_TOPIC)) if files is not None else {}
        report.deleted = [deleted[key] for key in sorted(deleted)]
        audio, report.unsealed_recordings = check_recordings(seals, files, deleted)
        report.findings += audio
        if exported is not None:
            report.findings += check_head(exported, db, seals)
        report.findings = name_streams(db, report.findings)
    report.findings.sort(key=_order)
    return report


def _unsealed(db: ChainDatabase, files: RecordingFiles | None,
              exported: ChainHead | None) -> Report:
    events = sum(1 for _ in paged(db.events, PAGE))
    report = Report(ChainHead(0, GENESIS, None), unsealed_events=events,
                    unsealed_recordings=len(files.finished()) if files else 0)
    if events:
        report.findings.append(Finding(Kind.UNSEALED, f"the store holds {events} events and "
                                       "no integrity chain (run `recaudit seal`)"))
    if exported is not None and (exported.position or exported.recordings_seq):
        report.findings.append(Finding(Kind.REWRITTEN, "the exported head names seals, and "
                                       "the store has no integrity chain at all"))
    return report


def _order(finding: Finding) -> tuple[int, str, str]:
    return (finding.position or 0, finding.recording or "", finding.kind.value)
