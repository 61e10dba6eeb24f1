"""The event store's point lookups, on each backend: what read-your-writes waits for."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    MapperDeserialisationError,
    OperationalError,
)

from domain.ids import call_stream_id
from domain.rules import Command, Mode
from recaudit.adapters.eventstore import STREAM_INDEXES
from recaudit.bootstrap import Backend, build
from recaudit.bootstrap import event_store as open_event_store
from recaudit.core.committer import GroupCommitter
from recaudit.core.eventstore import EventStore
from recaudit.core.service import RecordingService
from recaudit.settings import Settings
from tests.support import wait_until

T = TypeVar("T")


def test_a_calls_version_at_a_position(backend: Backend) -> None:
    service = backend.service
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    before = backend.store.head()
    started = service.start_call(call_id="c1", org_id="acme", agent_id="bob",
                                 direction="inbound").position
    other = service.start_call(call_id="c2", org_id="acme", agent_id="ann",
                               direction="inbound").position
    recording = service.command("c1", Command.START, by="bob").position
    assert started is not None and other is not None and recording is not None
    assert before < started < other < recording
    version_at = backend.store.call_version_at
    assert version_at("c1", before) is None  # the call has no event there yet
    assert version_at("c1", started) == 1
    assert version_at("c1", other) == 1  # another call's event does not move this one
    assert version_at("c1", recording) == 2
    assert version_at("c1", recording + 100) == 2
    assert version_at("c2", recording) == 1
    assert version_at("no-such-call", recording) is None


def test_raw_events_are_the_stored_rows_of_the_topics_asked(backend: Backend) -> None:
    service = backend.service
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    service.command("c1", Command.START, by="bob")
    service.command("c1", Command.RESUME, by="bob")  # refused: a CommandRejected
    notifications = backend.store.recorder.select_notifications(start=1, limit=100)
    assert [n.topic for n in notifications] == [
        "recaudit.policy.PolicyCreated", "recaudit.policy.PolicySet",
        "recaudit.call.CallStarted", "recaudit.call.RecordingStarted",
        "recaudit.call.CommandRejected"]
    topics = ["recaudit.policy.PolicySet", "recaudit.call.CallStarted",
              "recaudit.call.RecordingStarted", "recaudit.call.CommandRejected"]
    expected = [(n.id, n.topic, n.originator_version, bytes(n.state))
                for n in notifications if n.topic in topics]
    raw = backend.store.index.raw_events
    assert raw(0, 100, topics) == expected  # PolicyCreated is not asked for
    assert raw(0, 2, topics) == expected[:2]
    assert raw(expected[1][0], 100, topics) == expected[2:]  # strictly after
    assert raw(expected[-1][0], 100, topics) == []
    assert raw(0, 100, ["recaudit.call.CallEnded"]) == []
    every = [(n.id, n.topic, n.originator_version, bytes(n.state)) for n in notifications]
    assert raw(0, 100) == every  # no topics given: the whole log, internal events too
    assert raw(every[0][0], 3) == every[1:4]
    assert raw(every[-1][0], 100) == []


def test_an_events_state_is_what_the_librarys_mapper_reads(backend: Backend) -> None:
    service, store = backend.service, backend.store
    service.set_policy("acme", mode=Mode.PAUSE_RESUME, changed_by="admin")
    service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    for command in (Command.PAUSE, Command.PAUSE, Command.RESUME, Command.END):
        service.command("c1", command, by="bob")
    notifications = store.recorder.select_notifications(start=1, limit=100)
    assert len({n.topic for n in notifications}) >= 6
    for n in notifications:
        event = vars(store.mapper.to_domain_event(n))
        del event["originator_id"], event["originator_version"]
        assert store.event_state(n.topic, bytes(n.state)) == event


def test_an_events_state_is_upcast_as_the_mapper_does(backend: Backend) -> None:
    service, store = backend.service, backend.store
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    started = next(n for n in store.recorder.select_notifications(start=1, limit=10)
                   if n.topic == "recaudit.call.CallStarted")
    # The state as a version 1 CallStarted was stored: no class_version, no pause cap.
    v1 = store.mapper.transcoder.decode(bytes(started.state))
    del v1["class_version"], v1["max_pause_ms"]
    stored = store.mapper.transcoder.encode(v1)
    state = store.event_state(started.topic, stored)
    assert state["max_pause_ms"] is None and "class_version" not in state
    old = dataclasses.replace(started, state=stored)
    event = vars(store.mapper.to_domain_event(old))
    del event["originator_id"], event["originator_version"]
    assert state == event


def test_an_unreadable_state_fails_as_the_mapper_says(backend: Backend) -> None:
    with pytest.raises(MapperDeserialisationError, match=r"recaudit\.call\.CallStarted"):
        backend.store.event_state("recaudit.call.CallStarted", b"{not json")


# -- SQLite: the lookups' own connections ------------------------------------------


def _in_thread(lookup: Callable[[], T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lookup).result(timeout=30)


def test_sqlite_lookups_see_every_commit_at_once_from_any_thread(
        sqlite_backend: Backend) -> None:
    service, store = sqlite_backend.service, sqlite_backend.store
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    stream = call_stream_id("c1")
    with ThreadPoolExecutor(max_workers=1) as reader:  # one thread: one connection, reused
        def ask() -> tuple[int | None, int | None]:
            version = store.stream_version(stream)
            return version, None if version is None else store.position_of(stream, version)

        assert reader.submit(ask).result() == (None, None)
        started = service.start_call(call_id="c1", org_id="acme", agent_id="bob",
                                     direction="inbound").position
        assert reader.submit(ask).result() == (1, started)
        recording = service.command("c1", Command.START, by="bob").position
        assert reader.submit(ask).result() == (2, recording)
        assert store.stream_version(stream) == 2  # and this thread's own connection


def test_sqlite_lookup_errors_are_the_stores_errors(sqlite_backend: Backend) -> None:
    store = sqlite_backend.store
    db = Path(store.index.recorder.datastore.pool.db_name)
    db.rename(db.with_name("moved-away.sqlite"))  # a new connection opens an empty file
    with pytest.raises(OperationalError, match="no such table"):
        _in_thread(lambda: store.stream_version(call_stream_id("c1")))


def test_sqlite_lookups_after_close_fail_as_the_library_does(tmp_path: Path) -> None:
    store = open_event_store(Settings.from_env({}, data_dir=tmp_path))
    assert store.stream_version(call_stream_id("c1")) is None
    opened = list(store.index._opened)
    assert len(opened) == 1
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):  # the lookup connection is closed
        opened[0].execute("SELECT 1")
    with pytest.raises(ConnectionPoolClosedError):
        store.stream_version(call_stream_id("c1"))


def test_an_in_memory_sqlite_store_looks_up_through_the_library() -> None:
    store = EventStore({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                        "SQLITE_DBNAME": ":memory:"}, indexes=STREAM_INDEXES)
    try:
        service = RecordingService(store, GroupCommitter(store))
        service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
        started = service.start_call(call_id="c1", org_id="acme", agent_id="bob",
                                     direction="inbound").position
        assert store.stream_version(call_stream_id("c1")) == 1
        assert store.position_of(call_stream_id("c1"), 1) == started
        assert store.index.raw_events(0, 10)[-1][0] == started
        assert store.index._opened == []  # its one connection is the library's
        service.committer.close()
    finally:
        store.close()


# -- PostgreSQL: the lookups' own autocommit connections -------------------------------


def _lookup_connections(url: str, *, terminate: bool = False) -> int:
    """How many connections the lookups hold to the database of `url`; with `terminate`,
    each is ended server side."""
    import psycopg

    database = urlsplit(url).path.lstrip("/")
    sql = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity" if terminate
           else "SELECT pid FROM pg_stat_activity")
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            sql + " WHERE application_name = 'recaudit-lookups' AND datname = %s",
            (database,)).fetchall()
    return len(rows)


def test_postgres_lookups_survive_a_lost_connection(postgres_url: str, tmp_path: Path) -> None:
    backend = build(Settings.from_env({}, data_dir=tmp_path, postgres_url=postgres_url))
    try:
        service, store = backend.service, backend.store
        service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
        started = service.start_call(call_id="c1", org_id="acme", agent_id="bob",
                                     direction="inbound").position
        stream = call_stream_id("c1")
        assert store.stream_version(stream) == 1
        # As a server restart would:
        assert _lookup_connections(postgres_url, terminate=True) >= 1
        # The next lookups find their connections gone and ask again on fresh ones.
        assert store.stream_version(stream) == 1
        assert store.position_of(stream, 1) == started
        assert store.call_version_at("c1", started) == 1
        recording = service.command("c1", Command.START, by="bob").position
        assert store.position_of(stream, 2) == recording  # a commit is seen at once
    finally:
        backend.close()


def test_postgres_lookups_after_close_fail_as_the_stores_errors(postgres_url: str,
                                                                 tmp_path: Path) -> None:
    store = open_event_store(Settings.from_env({}, data_dir=tmp_path,
                                               postgres_url=postgres_url))
    assert store.stream_version(call_stream_id("c1")) is None
    store.close()
    with pytest.raises(OperationalError):
        store.stream_version(call_stream_id("c1"))
    # No lookup connection is left open (the server notices a closed one soon after).
    wait_until(lambda: _lookup_connections(postgres_url) == 0, what="the lookups to close")


def test_stream_versions_are_each_streams_version_in_one_query(backend: Backend) -> None:
    service, store = backend.service, backend.store
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    service.command("c1", Command.START, by="bob")
    service.start_call(call_id="c2", org_id="acme", agent_id="ann", direction="inbound")
    streams = [call_stream_id(c) for c in ("c1", "c2", "no-such-call")]
    streams.append(streams[0])  # asked twice: answered once
    assert store.stream_versions(streams) == {
        stream: store.stream_version(stream) for stream in streams}
    assert store.stream_versions(streams)[streams[0]] == 2
    assert store.stream_versions(streams)[streams[2]] is None
    assert store.stream_versions([]) == {}
