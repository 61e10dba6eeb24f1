"""The stream index of a PostgreSQL event store: lookups by the library's own columns."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier


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

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.position_sql, (stream_id, version))
            row = cursor.fetchone()
        return None if row is None else int(row["notification_id"])

    def stream_version(self, stream_id: UUID) -> int | None:
        return self._version(self.version_sql, (stream_id,))

    def version_at(self, stream_id: UUID, position: int) -> int | None:
        return self._version(self.version_at_sql, (stream_id, position))

    def _version(self, sql: Composed, params: tuple[object, ...]) -> int | None:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None or row["version"] is None else int(row["version"])
