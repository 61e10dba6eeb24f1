"""Checking that the timeline and the access log of a bundle say what its events say: the
timeline is replayed from the call's stored events through the domain's own aggregate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.call import Call
from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.build import access_log
from recaudit.adapters.integrity.bundle.rows import BundleRow
from recaudit.adapters.integrity.findings import Finding, Kind
from recaudit.core.views import TimelineView


def _state(row: BundleRow) -> dict[str, Any]:
    try:
        value = json.loads(row.state) if row.state is not None else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_timeline(timeline: Any, call_rows: Sequence[BundleRow],
                   call_id: str | None) -> list[Finding]:
    """The timeline must be the one the call's events replay to."""
    if not isinstance(timeline, dict):
        return [Finding(Kind.INCONSISTENT, "there is no timeline", file=layout.TIMELINE)]
    if not call_rows:
        return []
    started = _state(call_rows[0])
    if call_id is not None and call_id != started.get("call_id"):
        return [Finding(Kind.INCONSISTENT, f"the signed heads are of call {call_id}, the "
                        f"events of call {started.get('call_id')}", file=layout.HEADS)]
    try:
        expected = replayed_timeline(call_rows)
    except Exception as exc:  # any event the domain cannot apply says the same
        return [Finding(Kind.INCONSISTENT, f"the call's events cannot be replayed: {exc}",
                        file=layout.CALL_EVENTS)]
    wrong = [name for name in sorted(set(expected) | set(timeline))
             if timeline.get(name) != expected.get(name)]
    if not wrong:
        return []
    counts = (f" ({_count(timeline.get('intervals'))} intervals, the events give "
              f"{_count(expected.get('intervals'))})" if "intervals" in wrong else "")
    return [Finding(Kind.INCONSISTENT, f"its {', '.join(wrong)} differ from the timeline the "
                    f"events replay to{counts}", file=layout.TIMELINE)]


def replayed_timeline(call_rows: Sequence[BundleRow]) -> dict[str, Any]:
    """The timeline JSON of the call the rows replay to, through the domain's own events."""
    mapper = _mapper()
    call: Any = None
    for row in call_rows:
        stored = StoredEvent(originator_id=UUID(row.event.stream),
                             originator_version=row.event.version,
                             topic=row.event.topic or "", state=row.state or b"")
        event: Any = mapper.to_domain_event(stored)
        call = event.mutate(call)
    if not isinstance(call, Call):
        raise ValueError("the events do not make a call")
    return TimelineView.of(call).to_json()


def _mapper() -> Mapper[UUID]:
    """The event store's encoding of events (the library's default JSON transcodings)."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def _count(intervals: Any) -> int:
    return len(intervals) if isinstance(intervals, list) else 0


def check_access_log(entries: Any, access_rows: Sequence[BundleRow]) -> list[Finding]:
    rows = [(row.event.position, row.event.stream, row.event.version, row.event.topic,
             row.state) for row in access_rows]
    expected = access_log(rows)
    if entries != expected:
        count = len(entries) if isinstance(entries, list) else 0
        return [Finding(Kind.INCONSISTENT, f"it has {count} entries that differ from the "
                        f"{len(expected)} RecordAccessed events", file=layout.ACCESS_LOG)]
    return []
