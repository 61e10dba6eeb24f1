"""Every event of the compliance lifecycle, made through the real services of a started
backend: retentions, legal holds placed and released, reads, erasures (with and without
audio) and a refused erasure of a held recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.errors import RecordingHeld
from domain.lifecycle import DeletionReason, Hold, ReadKind
from domain.rules import Command, Mode
from recaudit.bootstrap import Backend
from tests.support import wait_until

LIFECYCLE_TYPES = ("RecordingDeleted", "RetentionSet", "LegalHoldPlaced", "LegalHoldReleased",
                   "RecordAccessed")
RATE = 8000


def tone(samples: int, value: int = 1000) -> bytes:
    return value.to_bytes(2, "little", signed=True) * samples


def recorded_call(backend: Backend, call_id: str, org_id: str, agent_id: str, *,
                  start: datetime, audio: bool = True) -> None:
    """A call with one recording (one second of audio, or none), ended."""
    service = backend.service
    service.start_call(call_id=call_id, org_id=org_id, agent_id=agent_id,
                       direction="inbound", at=start)
    service.command(call_id, Command.START, by=agent_id, at=start + timedelta(seconds=1))
    if audio:
        assert backend.segments is not None
        backend.segments.ingest(call_id, start + timedelta(seconds=1), RATE, tone(RATE))
    service.command(call_id, Command.END, by=agent_id, at=start + timedelta(seconds=3))


def wait_written(backend: Backend, call_id: str, recording_no: int = 1) -> None:
    """Until the segment store has written (or settled) the recording's files."""
    compliance = backend.compliance
    assert compliance is not None

    def written() -> bool:
        call = backend.store.call(call_id)
        assert call is not None
        position = backend.store.position_of(call.id, call.version)
        return compliance.files.digest(call_id, recording_no, position)[0]

    wait_until(written, timeout=60, what=f"the files of {call_id} #{recording_no}")


def drive_lifecycle(backend: Backend, org_id: str = "org-life", prefix: str = "life"
                    ) -> dict[str, Hold]:
    """Every lifecycle type, with each optional field both null and set; returns the holds
    placed, by what they cover (`call`, `agent`, `org`; the org's is released)."""
    compliance = backend.compliance
    assert compliance is not None
    service = backend.service
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    service.set_policy(org_id, mode=Mode.ON_DEMAND, changed_by="admin")
    compliance.set_retention(org_id, audio_days=30, changed_by="admin", reason="MiFID II")
    compliance.set_retention(org_id, audio_days=None, changed_by="dpo")
    erased, silent, held = f"{prefix}-erased", f"{prefix}-silent", f"{prefix}-held"
    recorded_call(backend, erased, org_id, "ann", start=start)
    recorded_call(backend, silent, org_id, "ann", start=start + timedelta(minutes=1),
                  audio=False)
    recorded_call(backend, held, org_id, "bob", start=start + timedelta(minutes=2))
    holds = {
        "call": compliance.place_hold(org_id, call_id=held, agent_id=None, case="case-1",
                                      by="auditor", reason="subpoena"),
        "agent": compliance.place_hold(org_id, call_id=None, agent_id="bob", case="case-2",
                                       by="auditor"),
        "org": compliance.place_hold(org_id, call_id=None, agent_id=None, case="case-3",
                                     by="auditor"),
    }
    holds["org"] = compliance.release_hold(holds["org"].hold_id, by="auditor",
                                           reason="case closed")
    compliance.record_access(erased, ReadKind.TIMELINE, by="loopback", role=None)
    compliance.record_access(erased, ReadKind.RECORDINGS, by="ivy", role="auditor")
    compliance.record_access(erased, ReadKind.AUDIO, by="ivy", role="auditor", recording_no=1)
    compliance.record_access(held, ReadKind.EVIDENCE, by="ada", role="admin")
    for call_id in (erased, silent, held):
        wait_written(backend, call_id)
    compliance.delete_recording(erased, 1, by="admin", reason=DeletionReason.ERASURE)
    compliance.delete_recording(silent, 1, by="system", reason=DeletionReason.RETENTION)
    try:
        compliance.delete_recording(held, 1, by="admin", reason=DeletionReason.ERASURE)
    except RecordingHeld:
        pass  # recorded as a refusal: command delete, code legal_hold
    else:
        raise AssertionError("the held recording was deleted")
    return holds
