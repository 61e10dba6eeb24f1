"""The compliance lifecycle's service: retention, legal holds, deletion of audio, reads.

Every decision is taken in the group committer's writer against the aggregates as
stored now (another process may have placed a hold a moment ago), and stored as
events: `RetentionSet`, `LegalHoldPlaced` / `LegalHoldReleased` and `RecordingDeleted`
in the organisation's and the call's streams, `RecordAccessed` in the call's access
log. The segment store removes a recording's bytes only when it applies the stored
`RecordingDeleted`, so audio never disappears without a record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from domain.access import AccessLog
from domain.call import Call
from domain.clock import Clock, system_clock
from domain.errors import NoPolicy, RecordingHeld, RecordingStillOpen, UnknownCall, UnknownHold
from domain.ids import access_stream_id, call_stream_id, policy_stream_id
from domain.lifecycle import Deletion, DeletionReason, Hold, ReadKind, is_due, org_of_hold
from domain.policy import Policy
from recaudit.core.committer import GroupCommitter, Positions, UnitOfWork
from recaudit.core.eventstore import EventStore
from recaudit.core.views import PolicySnapshot

# How long a sweep waits for the projections, and a deletion for the segment store, to
# catch up with the event store before going on with what they know.
CATCH_UP_S = 10.0


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class RecordingFiles(Protocol):
    """What the segment store holds of a recording (port; the segment desk answers)."""

    def digest(self, call_id: str, recording_no: int, call_position: int | None
               ) -> tuple[bool, str | None]:
        """(whether the recording's files are written, the SHA-256 of its audio file or
        None if it has none). `call_position`: the position of the call's last event, so
        a store that keeps nothing for a call without audio can say it is done with it."""
        ...

    def applied_position(self) -> int:
        """Up to which position of the event store the segment store has applied events
        (deletions included: their audio is gone)."""
        ...


class RetentionCandidates(Protocol):
    """Calls that may hold recordings past retention (port; the projections answer).
    The service checks each against the event store before deleting anything."""

    def retention_candidates(self, org_id: str, ended_before: datetime) -> list[str]: ...

    def policy_orgs(self) -> list[str]: ...

    def applied_position(self) -> int:
        """Up to which position of the event store the candidates are known."""
        ...


@dataclass(frozen=True)
class DeletionResult:
    deletion: Deletion
    position: int | None
    repeated: bool


@dataclass
class RetentionReport:
    dry_run: bool
    checked: int = 0
    deleted: list[tuple[str, int]] = field(default_factory=list)
    kept_for_hold: list[tuple[str, int]] = field(default_factory=list)
    pending: list[tuple[str, int]] = field(default_factory=list)


class ComplianceService:
    def __init__(self, store: EventStore, committer: GroupCommitter, *,
                 files: RecordingFiles, clock: Clock = system_clock) -> None:
        self.store = store
        self.committer = committer
        self.files = files
        self.clock = clock

    # -- retention -------------------------------------------------------------------

    def set_retention(self, org_id: str, *, audio_days: int | None, changed_by: str,
                      reason: str | None = None) -> PolicySnapshot:
        def job(uow: UnitOfWork) -> Callable[[Positions], PolicySnapshot]:
            policy = self._policy(uow, org_id)
            policy.set_retention(audio_days=audio_days, changed_by=changed_by, reason=reason,
                                 at=self.clock())
            snapshot = PolicySnapshot.of(policy)
            return lambda _positions: snapshot

        return self.committer.run(job)

    def run_retention(self, *, by: str, candidates: RetentionCandidates,
                      dry_run: bool = False, orgs: list[str] | None = None) -> RetentionReport:
        """Delete the audio of every recording past its organisation's retention and not
        under hold (`dry_run`: only say what would go)."""
        report = RetentionReport(dry_run)
        # Judge the calls as stored now: let the projections catch up first (a while).
        _wait(lambda: candidates.applied_position() >= self.store.head(), CATCH_UP_S)
        for org_id in sorted(orgs if orgs is not None else candidates.policy_orgs()):
            policy = self.store.policy(org_id)
            if policy is None or policy.audio_days is None:
                continue
            now = self.clock()
            cutoff = now - timedelta(days=policy.audio_days)
            for call_id in candidates.retention_candidates(org_id, cutoff):
                self._sweep_call(call_id, policy, now, by, report)
        if report.deleted and not dry_run:
            # Answer once the audio is gone, not only recorded as deleted (a while).
            head = self.store.head()
            _wait(lambda: self.files.applied_position() >= head, CATCH_UP_S)
        return report

    def _sweep_call(self, call_id: str, policy: Policy, now: datetime, by: str,
                    report: RetentionReport) -> None:
        call = self.store.call(call_id)
        if call is None or call.org_id != policy.org_id:
            return
        if not is_due(call.ended_at, policy.audio_days, now):
            return
        held = bool(policy.holds_on(call_id, call.holders))
        for number in range(1, call.recording_no + 1):
            if number in call.deleted:
                continue
            report.checked += 1
            if held:
                report.kept_for_hold.append((call_id, number))
            elif report.dry_run:
                report.deleted.append((call_id, number))
            else:
                self._retire(call, number, by, report)

    def _retire(self, call: Call, number: int, by: str, report: RetentionReport) -> None:
        try:
            self.delete_recording(call.call_id, number, by=by, reason=DeletionReason.RETENTION)
        except RecordingHeld:
            report.kept_for_hold.append((call.call_id, number))
        except RecordingStillOpen:
            report.pending.append((call.call_id, number))  # its files are still being written
        else:
            report.deleted.append((call.call_id, number))

    # -- deletion ----------------------------------------------------------------------

    def delete_recording(self, call_id: str, recording_no: int, *, by: str,
                         reason: DeletionReason, note: str | None = None) -> DeletionResult:
        """Delete one recording's audio (`note`: why, in words). Erasure of a held recording
        records the refusal (`legal_hold`); retention never does (it only reports it kept)."""
        call = self.store.call(call_id)
        if call is None:
            raise UnknownCall(call_id)
        done = call.check_deletable(recording_no)
        if done is not None:
            return DeletionResult(done, self.store.position_of(call.id, call.version), True)
        position = self.store.position_of(call.id, call.version)
        # A recording closed a moment ago may still be being written: wait a while for it.
        _wait(lambda: self.files.digest(call_id, recording_no, position)[0], CATCH_UP_S)
        written, sha256 = self.files.digest(call_id, recording_no, position)
        if not written:
            raise RecordingStillOpen(call_id, recording_no, "its audio is still being "
                                     "written; try again in a moment")
        stream_id = call_stream_id(call_id)

        def job(uow: UnitOfWork) -> Callable[[Positions], DeletionResult]:
            fresh: Call | None = uow.get(stream_id, cached=False)
            if fresh is None:
                raise UnknownCall(call_id)
            policy: Policy | None = uow.get(policy_stream_id(fresh.org_id), cached=False)
            holds = policy.holds_on(call_id, fresh.holders) if policy else []
            if holds:
                if reason is DeletionReason.RETENTION:
                    raise RecordingHeld(call_id, recording_no, [h.hold_id for h in holds])
                fresh.check_deletable(recording_no)
                fresh.refuse_deletion(recording_no, by=by, at=self.clock())
                ids = [h.hold_id for h in holds]

                def refused(_positions: Positions) -> DeletionResult:
                    raise RecordingHeld(call_id, recording_no, ids)

                return refused
            before = fresh.version
            deletion = fresh.delete_recording(recording_no, reason=reason, by=by,
                                              at=self.clock(), sha256=sha256, note=note)
            version = fresh.version
            return lambda positions: DeletionResult(
                deletion, positions.get((stream_id, version)), version == before)

        return self.committer.run(job)

    # -- legal holds -------------------------------------------------------------------

    def place_hold(self, org_id: str, *, call_id: str | None, agent_id: str | None,
                   case: str, by: str, reason: str | None = None) -> Hold:
        def job(uow: UnitOfWork) -> Callable[[Positions], Hold]:
            policy = self._policy(uow, org_id)
            if call_id is not None:
                call: Call | None = uow.get(call_stream_id(call_id))
                if call is None or call.org_id != org_id:
                    raise UnknownCall(call_id)
            hold = policy.place_hold(call_id=call_id, agent_id=agent_id, case=case, by=by,
                                     reason=reason, at=self.clock())
            return lambda _positions: hold

        return self.committer.run(job)

    def release_hold(self, hold_id: str, *, by: str, reason: str | None = None) -> Hold:
        org_id = org_of_hold(hold_id)
        if org_id is None:
            raise UnknownHold(hold_id)

        def job(uow: UnitOfWork) -> Callable[[Positions], Hold]:
            policy: Policy | None = uow.get(policy_stream_id(org_id), cached=False)
            if policy is None:
                raise UnknownHold(hold_id)
            hold = policy.release_hold(hold_id, by=by, reason=reason, at=self.clock())
            return lambda _positions: hold

        return self.committer.run(job)

    def holds(self, org_id: str, *, active: bool | None = None) -> list[Hold]:
        policy = self.store.policy(org_id)
        if policy is None:
            return []
        return [h for h in policy.holds.values() if active is None or h.active is active]

    def hold(self, hold_id: str) -> Hold:
        org_id = org_of_hold(hold_id)
        policy = self.store.policy(org_id) if org_id else None
        if policy is None or hold_id not in policy.holds:
            raise UnknownHold(hold_id)
        return policy.holds[hold_id]

    # -- reads -------------------------------------------------------------------------

    def record_access(self, call_id: str, what: ReadKind, *, by: str, role: str | None,
                      recording_no: int | None = None) -> None:
        """Record one successful read in the call's access log (stored before returning)."""
        stream_id = access_stream_id(call_id)

        def job(uow: UnitOfWork) -> Callable[[Positions], None]:
            log: AccessLog | None = uow.get(stream_id)
            if log is None:
                started = self.store.call(call_id, version=1)
                if started is None:
                    raise UnknownCall(call_id)
                log = AccessLog.open(call_id, started.org_id)
                uow.add(log)
            log.record(what, recording_no=recording_no, by=by, role=role, at=self.clock())
            return lambda _positions: None

        self.committer.run(job)

    def access_log(self, call_id: str) -> list[AccessLog.RecordAccessed]:
        """Every recorded read of the call, oldest first."""
        if self.store.call(call_id, version=1) is None:
            raise UnknownCall(call_id)
        events = self.store.events.get(access_stream_id(call_id))
        return [e for e in events if isinstance(e, AccessLog.RecordAccessed)]

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _policy(uow: UnitOfWork, org_id: str) -> Policy:
        """The organisation's policy as stored now; NoPolicy if it has none."""
        policy: Policy | None = uow.get(policy_stream_id(org_id), cached=False)
        if policy is None or not policy.history:
            raise NoPolicy(org_id)
        return policy
