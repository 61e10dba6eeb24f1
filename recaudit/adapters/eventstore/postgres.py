"""The stream index of a PostgreSQL event store: lookups by the library's own columns."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

from recaudit.core.eventstore import RawEvent


class PostgresStreamIndex:
    """Stream ids are stored as UUIDs; an event's position is its notification id."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError(f"a PostgreSQL stream index needs a PostgreSQL recorder, "
                            f"not {type(recorder).__name__}")
        self.recorder = recorder
        table = {"schema": Identifier(recorder.datastore.schema),
                 "table": Identifier(recorder.events_table_name)}
        self.position_sql = SQL(
            "SELECT notification_id FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(**table)
        self.version_sql = SQL(
            "SELECT MAX(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = %s"
        ).format(**table)
        self.version_at_sql = SQL(
            "SELECT MAX(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = %s AND notification_id <= %s"
        ).format(**table)

        self.raw_sql = SQL(
            "SELECT notification_id, topic, originator_version, state FROM {schema}.{table} "
            "WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
        ).format(**table)
        self.log_sql = SQL(
            "SELECT notification_id, topic, originator_version, state FROM {schema}.{table} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(**table)

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.position_sql, (stream_id, version))
            row = cursor.fetchone()
        return None if row is None else int(row["notification_id"])

    def stream_version(self, stream_id: UUID) -> int | None:
        return self._version(self.version_sql, (stream_id,))

    def version_at(self, stream_id: UUID, position: int) -> int | None:
        return self._version(self.version_at_sql, (stream_id, position))

    def raw_events(self, after: int, limit: int,
                   topics: Sequence[str] | None = None) -> list[RawEvent]:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            if topics is None:
                cursor.execute(self.log_sql, (after, limit))
            else:
                cursor.execute(self.raw_sql, (after, list(topics), limit))
            return [(int(r["notification_id"]), str(r["topic"]), int(r["originator_version"]),
                     bytes(r["state"])) for r in cursor.fetchall()]

    def close(self) -> None:
        """Nothing of its own to close: every lookup is a transaction of the library's pool."""

    def _version(self, sql: Composed, params: tuple[object, ...]) -> int | None:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None or row["version"] is None else int(row["version"])
