"""The access log: one stream per call of the reads of its timeline, recordings, audio
and evidence. Kept apart from the call's own stream, so a read never moves the call."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate

from domain.ids import access_stream_id
from domain.lifecycle import ReadKind
from domain.stream import StreamAggregate


class AccessLog(StreamAggregate):
    """Keeps no reads in memory: they are only ever appended, and listed from the store."""

    TOPIC = "recaudit.access.AccessLog"

    class Created(Aggregate.Created):
        TOPIC = "recaudit.access.AccessLogOpened"
        call_id: str
        org_id: str

    class RecordAccessed(Aggregate.Event):
        TOPIC = "recaudit.access.RecordAccessed"
        call_id: str
        org_id: str
        what: str
        recording_no: int | None
        by: str
        role: str | None  # None: a server without access control
        at: datetime

    def __init__(self, *, call_id: str, org_id: str) -> None:
        self.call_id = call_id
        self.org_id = org_id

    @classmethod
    def open(cls, call_id: str, org_id: str) -> AccessLog:
        return cls._create(cls.Created, id=access_stream_id(call_id), call_id=call_id,
                           org_id=org_id)

    def record(self, what: ReadKind, *, recording_no: int | None, by: str, role: str | None,
               at: datetime) -> None:
        self.trigger_event(self.RecordAccessed, call_id=self.call_id, org_id=self.org_id,
                           what=what.value, recording_no=recording_no, by=by, role=role, at=at)
