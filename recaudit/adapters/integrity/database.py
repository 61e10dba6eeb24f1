"""Where the chains are kept: two tables next to the events, in the event store's database.

`ChainDatabase` holds the SQL both adapters share (written with `?` markers);
`sqlite_db` and `postgres_db` supply the connection, the names of the event
table and its position column, and the transactions. Events are read raw, by
position, a page at a time, so nothing depends on decoding them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from recaudit.adapters.integrity.chain import (
    Link,
    RawEvent,
    RecordingKey,
    RecordingSeal,
    raw_event,
    stream_text,
)
from recaudit.adapters.integrity.errors import ChainMoved

LINKS = "integrity_links"
RECORDINGS = "integrity_recordings"
LINK_COLUMNS = ("position, stream, version, topic, payload_sha256, stream_prev, stream_hash, "
                "global_prev, global_hash, sealed_at")
SEAL_COLUMNS = ("seq, org_id, call_id, recording_no, audio_sha256, manifest_sha256, prev, "
                "hash, sealed_at")


def create_statements(integer: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {LINKS} (position {integer} PRIMARY KEY, "
        "stream TEXT NOT NULL, version BIGINT NOT NULL, topic TEXT, "
        "payload_sha256 TEXT NOT NULL, stream_prev TEXT NOT NULL, stream_hash TEXT NOT NULL, "
        "global_prev TEXT NOT NULL, global_hash TEXT NOT NULL, sealed_at TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {LINKS}_stream_idx ON {LINKS} (stream, position)",
        f"CREATE TABLE IF NOT EXISTS {RECORDINGS} (seq {integer} PRIMARY KEY, "
        "org_id TEXT NOT NULL, call_id TEXT NOT NULL, recording_no BIGINT NOT NULL, "
        "audio_sha256 TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, prev TEXT NOT NULL, "
        "hash TEXT NOT NULL, sealed_at TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {RECORDINGS}_call_idx ON {RECORDINGS} (call_id, recording_no)",
    ]


class ChainDatabase:
    """The chain tables and the raw events of one event store."""

    events_table: str
    position_column: str

    # -- what each adapter supplies ---------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def execute_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[None]:
        """One consistent, read-only view of events and chains (verification)."""
        raise NotImplementedError

    def exclusive(self, table: str) -> AbstractContextManager[None]:
        """A write transaction no other sealer of `table` can interleave with."""
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def create_tables(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------

    def has_events(self) -> bool:
        return self.has_table(self.events_table)

    def has_chain(self) -> bool:
        return self.has_table(LINKS) and self.has_table(RECORDINGS)

    def events(self, after: int, limit: int) -> list[RawEvent]:
        pos = self.position_column
        sql = (f"SELECT {pos}, originator_id, originator_version, topic, state "
               f"FROM {self.events_table} WHERE {pos} > ? ORDER BY {pos} LIMIT ?")
        return [raw_event(*row) for row in self.rows(sql, (after, limit))]

    def stream_states(self, stream: str, limit: int) -> list[bytes]:
        """The stored states of the first `limit` events of `stream` (32 hex digits)."""
        sql = (f"SELECT state FROM {self.events_table} WHERE originator_id = ? "
               "ORDER BY originator_version LIMIT ?")
        return [bytes(row[0]) for row in self.rows(sql, (self.stream_param(stream), limit))
                if row[0] is not None]

    def stream_param(self, stream: str) -> Any:
        """`stream` as the events table's originator_id column takes it."""
        return stream

    def stream_rows(self, stream: str) -> list[tuple[int, str, int, str | None, bytes | None]]:
        """Every stored event of `stream` as stored: (position, stream, version, topic,
        state bytes), by version."""
        pos = self.position_column
        sql = (f"SELECT {pos}, originator_id, originator_version, topic, state "
               f"FROM {self.events_table} WHERE originator_id = ? ORDER BY originator_version")
        return [(int(p), stream_text(s), int(v), t, None if b is None else bytes(b))
                for p, s, v, t, b in self.rows(sql, (self.stream_param(stream),))]

    def topic_states(self, topic: str) -> list[bytes]:
        """The stored states of every event of `topic`, by position."""
        pos = self.position_column
        sql = f"SELECT state FROM {self.events_table} WHERE topic = ? ORDER BY {pos}"
        return [bytes(row[0]) for row in self.rows(sql, (topic,)) if row[0] is not None]

    def stream_links(self, stream: str) -> list[Link]:
        sql = f"SELECT {LINK_COLUMNS} FROM {LINKS} WHERE stream = ? ORDER BY position"
        return [Link(*row) for row in self.rows(sql, (stream,))]

    def call_seals(self, call_id: str) -> list[RecordingSeal]:
        sql = f"SELECT {SEAL_COLUMNS} FROM {RECORDINGS} WHERE call_id = ? ORDER BY seq"
        return [RecordingSeal(*row) for row in self.rows(sql, (call_id,))]

    def links(self, after: int, limit: int) -> list[Link]:
        sql = (f"SELECT {LINK_COLUMNS} FROM {LINKS} WHERE position > ? "
               "ORDER BY position LIMIT ?")
        return [Link(*row) for row in self.rows(sql, (after, limit))]

    def last_link(self) -> Link | None:
        found = self.rows(f"SELECT {LINK_COLUMNS} FROM {LINKS} ORDER BY position DESC LIMIT 1")
        return Link(*found[0]) if found else None

    def link_at(self, position: int) -> Link | None:
        found = self.rows(f"SELECT {LINK_COLUMNS} FROM {LINKS} WHERE position = ?", (position,))
        return Link(*found[0]) if found else None

    def last_links(self, streams: Iterable[str]) -> dict[str, Link]:
        """The last sealed link of each of `streams` that has one."""
        found: dict[str, Link] = {}
        for some in chunks(sorted(set(streams)), 500):
            marks = ", ".join("?" * len(some))
            sql = (f"SELECT {LINK_COLUMNS} FROM (SELECT {LINK_COLUMNS}, ROW_NUMBER() OVER "
                   "(PARTITION BY stream ORDER BY position DESC) AS n "
                   f"FROM {LINKS} WHERE stream IN ({marks})) AS latest WHERE n = 1")
            found.update((row[1], Link(*row)) for row in self.rows(sql, some))
        return found

    def append_links(self, links: Sequence[Link], *, after: int) -> None:
        """Add `links`, which continue the chain sealed up to position `after`."""
        with self.exclusive(LINKS):
            self._expect(f"SELECT MAX(position) FROM {LINKS}", after)
            marks = ", ".join("?" * 10)
            self.execute_many(f"INSERT INTO {LINKS} ({LINK_COLUMNS}) VALUES ({marks})",
                              [_link_row(link) for link in links])

    def recording_seals(self) -> list[RecordingSeal]:
        rows = self.rows(f"SELECT {SEAL_COLUMNS} FROM {RECORDINGS} ORDER BY seq")
        return [RecordingSeal(*row) for row in rows]

    def last_recording_seal(self) -> RecordingSeal | None:
        found = self.rows(f"SELECT {SEAL_COLUMNS} FROM {RECORDINGS} ORDER BY seq DESC LIMIT 1")
        return RecordingSeal(*found[0]) if found else None

    def sealed_recordings(self, keys: Iterable[RecordingKey]) -> set[RecordingKey]:
        """Those of `keys` (org_id, call_id, recording_no) that have a seal."""
        wanted = set(keys)
        found: set[RecordingKey] = set()
        for some in chunks(sorted({call_id for _, call_id, _ in wanted}), 500):
            marks = ", ".join("?" * len(some))
            sql = (f"SELECT org_id, call_id, recording_no FROM {RECORDINGS} "
                   f"WHERE call_id IN ({marks})")
            found.update((org, call, int(no)) for org, call, no in self.rows(sql, some))
        return found & wanted

    def append_recording_seals(self, seals: Sequence[RecordingSeal], *, after: int) -> None:
        with self.exclusive(RECORDINGS):
            self._expect(f"SELECT MAX(seq) FROM {RECORDINGS}", after)
            marks = ", ".join("?" * 9)
            self.execute_many(f"INSERT INTO {RECORDINGS} ({SEAL_COLUMNS}) VALUES ({marks})",
                              [_seal_row(seal) for seal in seals])

    def _expect(self, sql: str, after: int) -> None:
        found = self.rows(sql)[0][0] or 0
        if found != after:
            raise ChainMoved(f"the chain was extended to {found} meanwhile (expected {after})")


Row = TypeVar("Row", RawEvent, Link)


def paged(fetch: Callable[[int, int], Sequence[Row]], page: int) -> Iterator[Row]:
    """Every row `fetch(after, limit)` gives, by position, a page at a time."""
    after = 0
    while True:
        batch = fetch(after, page)
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].position


def _link_row(link: Link) -> tuple[Any, ...]:
    return (link.position, link.stream, link.version, link.topic, link.payload_sha256,
            link.stream_prev, link.stream_hash, link.global_prev, link.global_hash,
            link.sealed_at)


def _seal_row(seal: RecordingSeal) -> tuple[Any, ...]:
    return (seal.seq, seal.org_id, seal.call_id, seal.recording_no, seal.audio_sha256,
            seal.manifest_sha256, seal.prev, seal.hash, seal.sealed_at)


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
