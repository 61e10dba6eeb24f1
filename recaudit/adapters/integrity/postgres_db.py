"""The chain tables inside the PostgreSQL event store, next to `recaudit_events`.

Verification runs in one REPEATABLE READ, READ ONLY transaction, so it sees
events and chains as of one instant and cannot write. The sealer takes an
EXCLUSIVE lock on its own table only while it appends; the event table is
only ever read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg

from recaudit.adapters.integrity.database import ChainDatabase, create_statements
from recaudit.adapters.integrity.errors import ChainMoved, DatabaseUnreachable, NoEventStore
from recaudit.core.eventstore import EventStore

SCHEMA = "public"
EVENTS_TABLE = f"{EventStore.name}_events"
CONNECT_TIMEOUT_SECONDS = 5


class PostgresChainDatabase(ChainDatabase):
    events_table = f"{SCHEMA}.{EVENTS_TABLE}"
    position_column = "notification_id"

    def __init__(self, url: str, *, read_only: bool) -> None:
        options = "-c default_transaction_read_only=on" if read_only else ""
        try:
            self._conn = psycopg.connect(url, autocommit=True, options=options,
                                         connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as exc:
            raise DatabaseUnreachable(f"cannot connect to PostgreSQL: {exc}") from exc
        if not self.has_events():
            self._conn.close()
            raise NoEventStore(f"the PostgreSQL database has no table {self.events_table}")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(_markers(sql), tuple(params))
                return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise DatabaseUnreachable(f"PostgreSQL: {exc}") from exc

    def stream_param(self, stream: str) -> Any:
        return UUID(stream)

    def execute_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(_markers(sql), params)
        except psycopg.errors.UniqueViolation as exc:
            raise ChainMoved(f"another sealer sealed these first: {exc}") from exc
        except psycopg.Error as exc:
            raise DatabaseUnreachable(f"PostgreSQL: {exc}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self._conn.transaction():
            self.rows("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    @contextmanager
    def exclusive(self, table: str) -> Iterator[None]:
        with self._conn.transaction():
            self.rows(f"LOCK TABLE {SCHEMA}.{table} IN EXCLUSIVE MODE")
            yield

    def has_table(self, name: str) -> bool:
        qualified = name if "." in name else f"{SCHEMA}.{name}"
        return self.rows("SELECT to_regclass(?)", (qualified,))[0][0] is not None

    def create_tables(self) -> None:
        with self._conn.transaction():
            # Two processes creating the tables at once would collide in the catalogue.
            self.rows("SELECT pg_advisory_xact_lock(hashtext('recaudit.adapters.integrity'))")
            for statement in create_statements("BIGINT"):
                self.rows(statement)

    def close(self) -> None:
        self._conn.close()


def _markers(sql: str) -> str:
    """Our SQL is written with `?` markers and contains no literal `?`."""
    return sql.replace("?", "%s")
