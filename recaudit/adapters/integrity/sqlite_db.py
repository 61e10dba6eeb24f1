"""The chain tables inside the embedded SQLite event store (`<data_dir>/events.sqlite`).

Verification opens the file read-only, so it can never change it. The sealer
writes with `BEGIN IMMEDIATE`: it holds the single write lock only while it
appends, and the event store's writer waits for it like for any other writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recaudit.adapters.integrity.database import ChainDatabase, create_statements
from recaudit.adapters.integrity.errors import ChainMoved, DatabaseUnreachable, NoEventStore

EVENTS_TABLE = "stored_events"
LOCK_TIMEOUT_SECONDS = 10.0


class SqliteChainDatabase(ChainDatabase):
    events_table = EVENTS_TABLE
    position_column = "rowid"

    def __init__(self, path: Path, *, read_only: bool) -> None:
        if not path.is_file():
            raise NoEventStore(f"no event store at {path} (is the data directory right?)")
        target = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
        self._conn = sqlite3.connect(target, uri=read_only, isolation_level=None,
                                     timeout=LOCK_TIMEOUT_SECONDS, check_same_thread=False)
        try:
            found = self.has_events()
        except DatabaseUnreachable as exc:
            self._conn.close()
            raise NoEventStore(f"{path} is not a readable event store: {exc}") from exc
        if not found:
            self._conn.close()
            raise NoEventStore(f"{path} holds no table of events ({EVENTS_TABLE})")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(f"SQLite: {exc}") from exc

    def execute_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, params)
        except sqlite3.IntegrityError as exc:
            raise ChainMoved(f"another sealer sealed these first: {exc}") from exc
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(f"SQLite: {exc}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self._transaction("BEGIN"):
            yield

    @contextmanager
    def exclusive(self, table: str) -> Iterator[None]:
        with self._transaction("BEGIN IMMEDIATE"):
            yield

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self.rows(begin)
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self.rows("COMMIT")

    def has_table(self, name: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self.rows(sql, (name,)))

    def create_tables(self) -> None:
        with self.exclusive("*"):
            for statement in create_statements("INTEGER"):
                self.rows(statement)

    def close(self) -> None:
        self._conn.close()
