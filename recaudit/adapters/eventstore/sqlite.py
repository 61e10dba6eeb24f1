"""The stream index of an SQLite event store: lookups by the library's own columns."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from recaudit.core.eventstore import RawEvent


class SQLiteStreamIndex:
    """Stream ids are stored as 32 hex digits; an event's position is its rowid."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        if not isinstance(recorder, SQLiteApplicationRecorder):
            raise TypeError(f"an SQLite stream index needs an SQLite recorder, "
                            f"not {type(recorder).__name__}")
        self.recorder = recorder
        self.position_sql = (
            f"SELECT rowid FROM {recorder.events_table_name} "
            "WHERE originator_id = ? AND originator_version = ?"
        )
        self.version_sql = (
            f"SELECT MAX(originator_version) FROM {recorder.events_table_name} "
            "WHERE originator_id = ?"
        )
        self.version_at_sql = self.version_sql + " AND rowid <= ?"
        self.raw_sql = (
            f"SELECT rowid, topic, originator_version, state FROM {recorder.events_table_name} "
            "WHERE rowid > ? AND topic IN ({topics}) ORDER BY rowid LIMIT ?"
        )

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.position_sql, (stream_id.hex, version))
            row = cursor.fetchone()
        return None if row is None else int(row[0])

    def stream_version(self, stream_id: UUID) -> int | None:
        return self._version(self.version_sql, (stream_id.hex,))

    def version_at(self, stream_id: UUID, position: int) -> int | None:
        return self._version(self.version_at_sql, (stream_id.hex, position))

    def raw_events(self, after: int, limit: int, topics: Sequence[str]) -> list[RawEvent]:
        sql = self.raw_sql.format(topics=", ".join("?" * len(topics)))
        with self.recorder.datastore.transaction(commit=False) as cursor:
            plain = cursor.sqlite_cursor  # the library's rows are sqlite3.Row: tuples here,
            plain.row_factory = None      # (int, str, int, bytes) as stored
            plain.execute(sql, (after, *topics, limit))
            rows: list[RawEvent] = plain.fetchall()
            return rows

    def _version(self, sql: str, params: tuple[object, ...]) -> int | None:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])
