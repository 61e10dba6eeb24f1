"""A sealed store to tamper with: calls driven through the service, two of them with audio,
recordings finished by the segment desk, and everything sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.lifecycle import DeletionReason
from domain.rules import Command, Mode
from recaudit.adapters.integrity.chain import Link
from recaudit.adapters.integrity.head import ChainHead
from recaudit.adapters.integrity.recordings import RecordingFiles
from recaudit.adapters.integrity.sealer import SealSummary
from recaudit.adapters.integrity.verify import Report, verify
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend
from recaudit.bootstrap.integrity import integrity_sealer, open_database, recording_files
from recaudit.settings import Settings
from tests.integrity.tamper import Row, Tamper
from tests.workload import ORGS, drive, set_policies

CALLS = 8
AUDIO_CALLS = ("audio-1", "audio-2")
ERASED_CALL = "erased-1"  # its recording's audio erased on request, before sealing

Summary = list[tuple[str, int | None, str | None, int | None]]


def populate(backend: Backend) -> None:
    set_policies(backend.service)
    record_audio(backend, (ERASED_CALL,))
    erase(backend, ERASED_CALL)
    drive(backend.service, CALLS, seed=11)
    record_audio(backend)


def record_audio(backend: Backend, calls: tuple[str, ...] = AUDIO_CALLS) -> None:
    """Calls with one second of audio each, ended, and their recordings finished."""
    assert backend.segments is not None
    start = datetime.now(UTC) - timedelta(seconds=30)
    for n, call_id in enumerate(calls, start=1):
        backend.service.start_call(call_id=call_id, org_id=ORGS[Mode.ALWAYS_ON],
                                   agent_id="agent-a", direction="inbound", at=start,
                                   command_id=f"{call_id}-start")
        backend.segments.ingest(call_id, start, 8000, bytes([n, 1]) * 8000)
        backend.service.command(call_id, Command.END, by="agent-a",
                                at=start + timedelta(seconds=1), command_id=f"{call_id}-end")
    apply_all(backend)
    backend.segments.sweep()


def apply_all(backend: Backend) -> None:
    """The segment store applies every stored event (a deletion removes the audio)."""
    assert backend.segments is not None
    feed, position = LocalFeed(backend.store), backend.segments.position()
    while position < backend.store.head():
        events, position = feed.read(position, 1000)
        backend.segments.apply(events)


def erase(backend: Backend, call_id: str,
          reason: DeletionReason = DeletionReason.ERASURE) -> None:
    """Delete the audio of the call's first recording, as an erasure request would."""
    assert backend.compliance is not None
    backend.compliance.delete_recording(call_id, 1, by="compliance-officer", reason=reason)
    apply_all(backend)


def seal(settings: Settings) -> SealSummary:
    sealer = integrity_sealer(settings)
    try:
        return sealer.seal_once()
    finally:
        sealer.close()


def check(settings: Settings, exported: ChainHead | None = None,
          files: RecordingFiles | None = None) -> Report:
    db = open_database(settings, read_only=True)
    try:
        return verify(db, files or recording_files(settings), exported)
    finally:
        db.close()


def summary(report: Report) -> Summary:
    return [(f.kind.value, f.position, f.stream, f.version) for f in report.findings]


@dataclass
class Scene:
    settings: Settings
    backend: Backend
    tamper: Tamper
    head: ChainHead

    def verify(self, exported: ChainHead | None = None) -> Report:
        return check(self.settings, exported)

    def findings(self, exported: ChainHead | None = None) -> Summary:
        return summary(self.verify(exported))

    def middle(self) -> Row:
        """An event well inside the history, of a stream with events before and after it."""
        rows = self.tamper.rows()
        for row in rows[len(rows) // 2:]:
            mine = [r.version for r in rows if r.stream == row.stream]
            if min(mine) < row.version < max(mine):
                return row
        raise AssertionError("no event with neighbours in its stream")

    def stream_pair(self) -> tuple[Row, Row]:
        """Two consecutive events of one stream, well inside the history."""
        row = self.middle()
        after = next(r for r in self.tamper.rows()
                     if r.stream == row.stream and r.version == row.version + 1)
        return row, after

    def links(self) -> list[Link]:
        return [Link(*r) for r in self.tamper.run("SELECT * FROM integrity_links "
                                                   "ORDER BY position")]
