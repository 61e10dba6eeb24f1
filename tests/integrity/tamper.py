"""Changing the event store behind the application's back, as anyone with access to the
database could: plain SQL on the events table and on the chain tables."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from recaudit.adapters.integrity.chain import GENESIS, Link, link_for, raw_event
from recaudit.adapters.integrity.database import LINKS, RECORDINGS
from recaudit.settings import Settings


@dataclass(frozen=True)
class Row:
    position: int
    stream: str
    version: int
    topic: str
    state: bytes


class Tamper:
    table: str
    pos: str

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def stream_param(self, stream: str) -> Any:
        return stream

    def close(self) -> None:
        raise NotImplementedError

    # -- the events -----------------------------------------------------------------

    def rows(self) -> list[Row]:
        found = self.run(f"SELECT {self.pos}, originator_id, originator_version, topic, state "
                         f"FROM {self.table} ORDER BY {self.pos}")
        return [Row(p, s.hex if isinstance(s, UUID) else s, v, t, bytes(b))
                for p, s, v, t, b in found]

    def row(self, position: int) -> Row:
        return next(r for r in self.rows() if r.position == position)

    def set_state(self, position: int, state: bytes) -> None:
        self.run(f"UPDATE {self.table} SET state = ? WHERE {self.pos} = ?", (state, position))

    def set_topic(self, position: int, topic: str) -> None:
        self.run(f"UPDATE {self.table} SET topic = ? WHERE {self.pos} = ?", (topic, position))

    def delete(self, position: int) -> None:
        self.run(f"DELETE FROM {self.table} WHERE {self.pos} = ?", (position,))

    def insert(self, position: int, stream: str, version: int, topic: str,
               state: bytes) -> None:
        self.run(f"INSERT INTO {self.table} ({self.pos}, originator_id, originator_version, "
                 "topic, state) VALUES (?, ?, ?, ?, ?)",
                 (position, self.stream_param(stream), version, topic, state))

    def swap_states(self, a: int, b: int) -> None:
        first, second = self.row(a), self.row(b)
        self.set_state(a, second.state)
        self.set_state(b, first.state)

    def swap_versions(self, a: int, b: int) -> None:
        first, second = self.row(a), self.row(b)
        self._set(a, "originator_version", -1)
        self._set(b, "originator_version", first.version)
        self._set(a, "originator_version", second.version)

    def swap_positions(self, a: int, b: int) -> None:
        self._set(a, self.pos, -a)
        self._set(b, self.pos, a)
        self.run(f"UPDATE {self.table} SET {self.pos} = ? WHERE {self.pos} = ?", (b, -a))

    def shift_up_from(self, position: int) -> None:
        """Every event at `position` or later moves one place up (the store has no gaps)."""
        self.run(f"UPDATE {self.table} SET {self.pos} = -({self.pos} + 1) "
                 f"WHERE {self.pos} >= ?", (position,))
        self.run(f"UPDATE {self.table} SET {self.pos} = -{self.pos} WHERE {self.pos} < 0")

    def _set(self, position: int, column: str, value: int) -> None:
        self.run(f"UPDATE {self.table} SET {column} = ? WHERE {self.pos} = ?", (value, position))

    # -- the chain tables -------------------------------------------------------------

    def set_link(self, position: int, column: str, value: str) -> None:
        self.run(f"UPDATE {LINKS} SET {column} = ? WHERE position = ?", (value, position))

    def delete_link(self, position: int) -> None:
        self.run(f"DELETE FROM {LINKS} WHERE position = ?", (position,))

    def set_recording_seal(self, seq: int, column: str, value: str) -> None:
        self.run(f"UPDATE {RECORDINGS} SET {column} = ? WHERE seq = ?", (value, seq))

    def reseal_from(self, position: int) -> int:
        """Recompute every link from `position` on from the events as they are now, the way
        a sealer would: the chain agrees with the edited events again. Returns the count."""
        links = [Link(*row) for row in self.run(f"SELECT * FROM {LINKS} ORDER BY position")]
        before = [link for link in links if link.position < position]
        streams = {link.stream: link.stream_hash for link in before}
        prev = before[-1].global_hash if before else GENESIS
        redone = 0
        for row in self.rows():
            if row.position < position or row.position > links[-1].position:
                continue
            event = raw_event(row.position, row.stream, row.version, row.topic, row.state)
            link = link_for(event, global_prev=prev,
                            stream_prev=streams.get(event.stream, GENESIS), sealed_at="x")
            self.run(f"DELETE FROM {LINKS} WHERE position = ?", (row.position,))
            self.run(f"INSERT INTO {LINKS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (link.position, link.stream, link.version, link.topic,
                      link.payload_sha256, link.stream_prev, link.stream_hash,
                      link.global_prev, link.global_hash, link.sealed_at))
            prev, streams[event.stream] = link.global_hash, link.stream_hash
            redone += 1
        return redone


class SqliteTamper(Tamper):
    table = "stored_events"
    pos = "rowid"

    def __init__(self, settings: Settings) -> None:
        self.conn = sqlite3.connect(settings.event_store_env()["SQLITE_DBNAME"],
                                    isolation_level=None, timeout=10)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


class PostgresTamper(Tamper):
    table = "public.recaudit_events"
    pos = "notification_id"

    def __init__(self, settings: Settings) -> None:
        import psycopg

        assert settings.postgres_url is not None
        self.conn = psycopg.connect(settings.postgres_url, autocommit=True)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def stream_param(self, stream: str) -> Any:
        return UUID(stream)

    def skip_positions(self, count: int) -> int:
        """Make the next `count` positions go unused, as failed inserts do; returns the
        first position that will be used."""
        found = self.run("SELECT setval(pg_get_serial_sequence(?, 'notification_id'), "
                         f"(SELECT MAX(notification_id) FROM {self.table}) + ?)",
                         (self.table, count))
        return int(found[0][0]) + 1

    def close(self) -> None:
        self.conn.close()


def open_tamper(settings: Settings) -> Tamper:
    return PostgresTamper(settings) if settings.postgres_url else SqliteTamper(settings)
