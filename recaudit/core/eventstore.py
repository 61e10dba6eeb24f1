"""The event store: an `eventsourcing` application on SQLite (default) or PostgreSQL.

Both aggregates live in one application so every event has one place in a
single global order (its notification id, which the API calls `position`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import Recording
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from domain.call import Call
from domain.ids import call_stream_id, policy_stream_id
from domain.policy import Policy


class EventStore(Application[UUID]):
    """The recaudit application: streams of calls and policies, in one log."""

    name = "recaudit"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env=dict(env or {}))
        self._position_sql = _position_statement(self.recorder)
        self._version_sql = _version_statement(self.recorder)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """`Application.save`, telling aggregates from events by their class.

        The library does it with `isinstance` against runtime-checkable
        protocols, which on Python 3.11 costs more than everything else it does
        to collect a batch. Aggregates are picked out with a plain class check;
        anything else is collected the library's way, in the order given.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated hook, still called by the library
        return recordings

    def call(self, call_id: str, version: int | None = None) -> Call | None:
        return self._get(call_stream_id(call_id), version)

    def policy(self, org_id: str) -> Policy | None:
        return self._get(policy_stream_id(org_id), None)

    def _get(self, stream_id: UUID, version: int | None) -> Any:
        # One read: `in repository` would replay the stream once more before `get`.
        try:
            return self.repository.get(stream_id, version=version)
        except AggregateNotFoundError:
            return None

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        """The global position of one stored event, or None if it is not stored."""
        recorder: Any = self.recorder
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._position_sql, _position_params(recorder, stream_id, version))
            row = cursor.fetchone()
        if row is None:
            return None
        return int(row[0] if not isinstance(row, dict) else next(iter(row.values())))

    def stream_version(self, stream_id: UUID) -> int | None:
        """The version of a stream's last stored event, or None if it has none.

        One small query, much cheaper than reading the stream: the writer uses
        it to learn that a stream is new, or that its cached copy is current.
        """
        recorder: Any = self.recorder
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._version_sql, (_stream_param(recorder, stream_id),))
            row = cursor.fetchone()
        value = row[0] if not isinstance(row, dict) else next(iter(row.values()))
        return None if value is None else int(value)

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0


def _position_statement(recorder: Any) -> Any:
    if isinstance(recorder, SQLiteApplicationRecorder):
        return (
            f"SELECT rowid FROM {recorder.events_table_name} "
            "WHERE originator_id = ? AND originator_version = ?"
        )
    if isinstance(recorder, PostgresApplicationRecorder):
        from psycopg.sql import SQL, Identifier

        return SQL(
            "SELECT notification_id FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
    raise TypeError(f"no position lookup for recorder {type(recorder).__name__}")


def _version_statement(recorder: Any) -> Any:
    if isinstance(recorder, SQLiteApplicationRecorder):
        return (
            f"SELECT MAX(originator_version) FROM {recorder.events_table_name} "
            "WHERE originator_id = ?"
        )
    if isinstance(recorder, PostgresApplicationRecorder):
        from psycopg.sql import SQL, Identifier

        return SQL(
            "SELECT MAX(originator_version) FROM {schema}.{table} WHERE originator_id = %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
    raise TypeError(f"no version lookup for recorder {type(recorder).__name__}")


def _stream_param(recorder: Any, stream_id: UUID) -> Any:
    return stream_id.hex if isinstance(recorder, SQLiteApplicationRecorder) else stream_id


def _position_params(recorder: Any, stream_id: UUID, version: int) -> tuple[Any, ...]:
    return (_stream_param(recorder, stream_id), version)
