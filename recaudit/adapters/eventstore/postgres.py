"""The stream index of a PostgreSQL event store: lookups by the library's own columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ApplicationRecorder, OperationalError, PersistenceError
from eventsourcing.postgres import ConnectionPool, PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from recaudit.core.eventstore import RawEvent

# At most this many lookups at once go to the server; the others wait for a connection.
LOOKUP_CONNECTIONS = 4


class PostgresStreamIndex:
    """Stream ids are stored as UUIDs; an event's position is its notification id.

    The point lookups are asked on a small pool of connections of the index's own, in
    autocommit: one statement is one read of the latest committed state, one round trip
    to the server. A transaction of the library's pool, checked with a ping first (as
    recaudit configures it, to ride out server restarts), took four, about half of the
    writer's time under load, since the writer asks two for every call it starts. A lookup
    whose connection was lost is asked once more after the pool has dropped its broken
    connections, as the ping would have found them. Bulk reads stay on the library's pool.
    """

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

        self.versions_sql = SQL(
            "SELECT originator_id, MAX(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(**table)
        self.raw_sql = SQL(
            "SELECT notification_id, topic, originator_version, state FROM {schema}.{table} "
            "WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
        ).format(**table)
        self.log_sql = SQL(
            "SELECT notification_id, topic, originator_version, state FROM {schema}.{table} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(**table)
        library: Any = recorder.datastore.pool
        self._lookups = ConnectionPool(
            kwargs={**library.kwargs, "autocommit": True, "row_factory": tuple_row,
                    "application_name": "recaudit-lookups"},
            get_password_func=library.get_password_func,
            min_size=1, max_size=LOOKUP_CONNECTIONS, timeout=library.timeout, num_workers=1,
            name="recaudit-lookups", open=True,
        )

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        row = self._one(self.position_sql, (stream_id, version))
        return None if row is None or row[0] is None else int(row[0])

    def stream_version(self, stream_id: UUID) -> int | None:
        return self._version(self.version_sql, (stream_id,))

    def version_at(self, stream_id: UUID, position: int) -> int | None:
        return self._version(self.version_at_sql, (stream_id, position))

    def stream_versions(self, stream_ids: Sequence[UUID]) -> dict[UUID, int | None]:
        versions: dict[UUID, int | None] = dict.fromkeys(stream_ids)
        for stored_id, version in self._rows(self.versions_sql, (list(versions),)):
            versions[stored_id] = int(version)
        return versions

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
        """Close the lookups' connections."""
        self._lookups.close()

    def _version(self, sql: Composed, params: tuple[object, ...]) -> int | None:
        row = self._one(sql, params)
        return None if row is None or row[0] is None else int(row[0])

    def _one(self, sql: Composed, params: tuple[object, ...]) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _rows(self, sql: Composed, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            try:
                return self._ask(sql, params)
            except psycopg.OperationalError:
                if self._lookups.closed:
                    raise
                # The connection may have been lost (the server restarted), and with it
                # the others kept idle: drop every broken one, then ask on a sound one.
                self._lookups.check()
                return self._ask(sql, params)
        except psycopg.OperationalError as exc:  # as the library's own transactions say it
            raise OperationalError(str(exc)) from exc
        except psycopg.Error as exc:
            raise PersistenceError(str(exc)) from exc

    def _ask(self, sql: Composed, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lookups.connection() as connection:
            return connection.execute(sql, params).fetchall()
