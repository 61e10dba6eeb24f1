"""How the segment store is put together with the event store and the command service.

The desk asks the event store for a call's latest version (to know when the
consumer has caught up with a call) and for its start (to refuse audio dated
before it, even before the consumer has applied the CallStarted), and passes a
barrier through the group committer (so every command checked before a
lateness claim is committed before the claimed audio is decided). The command
service, in turn, asks the desk how far a call's audio is decided, to refuse
`too_late` commands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from consumers.segments import (
    AudioLimits,
    FilesystemSegmentStore,
    SegmentConsumer,
    SegmentDesk,
    SegmentStore,
)
from domain.clock import Clock
from domain.ids import call_stream_id
from recaudit.core.committer import GroupCommitter, Positions, UnitOfWork
from recaudit.core.eventstore import EventStore
from recaudit.settings import Settings

RECORDINGS_DIR = "recordings"


def segment_desk(
    settings: Settings, store: EventStore, committer: GroupCommitter, clock: Clock,
    recordings: SegmentStore | None = None,
) -> SegmentDesk:
    """The desk; `recordings` replaces the filesystem store under the data directory."""
    limits = AudioLimits(
        lateness_ms=settings.audio_lateness_ms,
        held_per_call=settings.audio_held_call_bytes,
        held_total=settings.audio_held_total_bytes,
        skew_ms=int(settings.clock_skew.total_seconds() * 1000),
    )
    return SegmentDesk(
        recordings or recording_store(settings),
        limits=limits,
        clock=clock,
        call_version=latest_version(store),
        call_started=start_of(store),
        barrier=commit_barrier(committer),
        fault_pause=_fault_pause(settings.fault_pause_ms),
    )


def _fault_pause(ms: int) -> Callable[[], None]:
    """A pause between the steps of a deletion, for the fault-injection tests (none: 0)."""
    return (lambda: time.sleep(ms / 1000)) if ms else (lambda: None)


def recording_store(settings: Settings) -> SegmentStore:
    return FilesystemSegmentStore(settings.data_dir / RECORDINGS_DIR)


def segment_consumer(settings: Settings, desk: SegmentDesk) -> Callable[[], SegmentConsumer]:
    return lambda: SegmentConsumer(desk, sweep_seconds=settings.audio_sweep_ms / 1000)


def latest_version(store: EventStore) -> Callable[[str], int | None]:
    def version(call_id: str) -> int | None:
        stored = store.recorder.select_events(call_stream_id(call_id), desc=True, limit=1)
        return stored[0].originator_version if stored else None

    return version


def start_of(store: EventStore) -> Callable[[str], datetime | None]:
    def started(call_id: str) -> datetime | None:
        call = store.call(call_id, version=1)  # the CallStarted alone
        return None if call is None else call.started_at

    return started


def commit_barrier(committer: GroupCommitter) -> Callable[[], None]:
    """Returns once every command the committer had already started on is stored."""
    return lambda: committer.run(_nothing)


def _nothing(_uow: UnitOfWork) -> Callable[[Positions], None]:
    return lambda _positions: None
