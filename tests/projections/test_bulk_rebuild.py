"""The bulk rebuild (`projections.bulk`): the tables computed inside ClickHouse from the
stored events are the very rows the live consumer writes, whatever the store holds."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from domain.rules import Command, Mode
from projections import bulk
from projections.bulk import RawPage
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend, build
from recaudit.core.readmodel import ProjectionUnavailable
from recaudit.http.server import BackgroundServer
from recaudit.settings import Settings
from tests.projections.helpers import (
    caught_up,
    play_random,
    play_scenarios,
    projections_of,
    published,
    set_policies,
    snapshot,
)

pytestmark = pytest.mark.clickhouse


def bulk_rebuild(backend: Backend) -> None:
    feed = LocalFeed(backend.store, batch_size=50)
    report = projections_of(backend).rebuild(feed, raw=feed)
    assert report.events == len(published(backend.store))


def leftovers(client: Client, database: str) -> list[tuple[str]]:
    rows = client.query("SELECT name FROM system.tables WHERE database = {db:String} "
                        "AND name LIKE '%rebuild%'", parameters={"db": database})
    return [tuple(row) for row in rows.result_rows]


def play_capped(backend: Backend) -> list[str]:
    """Calls of an organisation whose pauses end by themselves (automatic resumes by the
    system), with actors whose names are not ASCII and hold a slash."""
    service = backend.service
    service.set_policy("capped", mode=Mode.ON_DEMAND_UIS, changed_by="admin",
                       max_pause_ms=1_000)
    start = datetime.now(UTC) - timedelta(hours=2)
    ids = []
    for n in range(3):
        call_id, agent = f"capped-{n}", f"agent-é/{n}"
        at = start + timedelta(minutes=5 * n)
        service.start_call(call_id=call_id, org_id="capped", agent_id=agent,
                           direction="inbound", at=at)
        service.command(call_id, Command.START, by=agent, at=at + timedelta(seconds=1))
        service.command(call_id, Command.PAUSE, by=agent, at=at + timedelta(seconds=2))
        assert service.resume_due(call_id) is not None  # the cap passed long ago
        service.transfer(call_id, to_agent_id=f"agent-ü/{n + 1}", by="supervisor",
                         at=at + timedelta(seconds=9))
        if n != 2:  # one left open
            service.command(call_id, Command.END, by=agent, at=at + timedelta(seconds=12))
        ids.append(call_id)
    return ids


@pytest.fixture
def played(ch_backend: Backend) -> Backend:
    set_policies(ch_backend.service)
    play_scenarios(ch_backend.service, 24, seed=31)
    play_random(ch_backend.service, 24, seed=32)
    play_capped(ch_backend)
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    return ch_backend


def test_the_bulk_rebuild_writes_the_live_consumers_rows(played: Backend, ch_client: Client,
                                                        ch_database: str) -> None:
    live = snapshot(ch_client, ch_database)
    automatic = [row for row in live["intervals"] if row[8] == "system"]
    assert automatic, "the capped pauses ended by themselves"
    assert any(len(json.loads(row[17])["agents"]) > 1 for row in live["calls"])
    bulk_rebuild(played)
    assert snapshot(ch_client, ch_database) == live
    assert leftovers(ch_client, ch_database) == []


def test_calls_worked_on_in_many_buckets_give_the_same_rows(
        played: Backend, ch_client: Client, ch_database: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    live = snapshot(ch_client, ch_database)
    monkeypatch.setattr(bulk, "BUCKET_EVENTS", 40)  # a dozen buckets of a few calls each
    bulk_rebuild(played)
    assert snapshot(ch_client, ch_database) == live
    assert leftovers(ch_client, ch_database) == []


def test_the_bulk_rebuild_reproduces_the_lifecycle_events(lifecycle_backend: Backend,
                                                          ch_client: Client,
                                                          ch_database: str) -> None:
    caught_up(lifecycle_backend)
    live = snapshot(ch_client, ch_database)
    bulk_rebuild(lifecycle_backend)
    assert snapshot(ch_client, ch_database) == live


def _rewrite_states(settings: Settings, change: dict[str, list[str]]) -> int:
    """Turn stored events back into their first class version: for each topic, drop the
    listed fields and the class version, as events stored before those fields existed."""
    connection = sqlite3.connect(settings.data_dir / "events.sqlite")
    changed = 0
    with connection:
        rows = connection.execute("SELECT rowid, topic, state FROM stored_events").fetchall()
        for rowid, topic, state in rows:
            fields = change.get(topic.rsplit(".", 1)[-1])
            if fields is None:
                continue
            decoded = json.loads(state)
            for name in [*fields, "class_version"]:
                decoded.pop(name, None)
            connection.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                               (json.dumps(decoded).encode(), rowid))
            changed += 1
    connection.close()
    return changed


def test_events_of_older_class_versions_get_the_upcasters_defaults(
        ch_backend: Backend, ch_client: Client, ch_database: str, ch_settings: Settings) -> None:
    set_policies(ch_backend.service)
    play_scenarios(ch_backend.service, 12, seed=41)
    play_random(ch_backend.service, 12, seed=42)
    changed = _rewrite_states(ch_settings, {
        "RecordingResumed": ["automatic"], "CallStarted": ["max_pause_ms"],
        "CommandRejected": ["received_at"], "PolicySet": ["max_pause_ms"],
    })
    assert changed > 20
    projections = projections_of(ch_backend)
    projections.rebuild(LocalFeed(ch_backend.store, batch_size=50))  # decoded in Python
    replayed = snapshot(ch_client, ch_database)
    resumes = [row for row in replayed["events"] if row[1] == "RecordingResumed"]
    assert resumes and all(row[15] is False for row in resumes)  # automatic, upcast
    bulk_rebuild(ch_backend)
    assert snapshot(ch_client, ch_database) == replayed


def _corrupt_last_start(settings: Settings) -> None:
    """The state of the last stored RecordingStarted, replaced by bytes that are not JSON."""
    connection = sqlite3.connect(settings.data_dir / "events.sqlite")
    with connection:
        connection.execute("UPDATE stored_events SET state = CAST('{not json' AS BLOB) "
                           "WHERE rowid = (SELECT max(rowid) FROM stored_events "
                           "WHERE topic = 'recaudit.call.RecordingStarted')")
    connection.close()


def test_an_unreadable_stored_event_fails_the_rebuild_and_keeps_the_tables(
        played: Backend, ch_client: Client, ch_database: str, ch_settings: Settings) -> None:
    before = snapshot(ch_client, ch_database)
    _corrupt_last_start(ch_settings)
    feed = LocalFeed(played.store)
    with pytest.raises(ProjectionUnavailable, match="not in the encoding expected"):
        projections_of(played).rebuild(feed, raw=feed)
    assert snapshot(ch_client, ch_database) == before
    assert leftovers(ch_client, ch_database) == []


def test_the_admin_endpoint_answers_503_for_an_unreadable_store(
        played: Backend, ch_client: Client, ch_database: str, ch_settings: Settings) -> None:
    before = snapshot(ch_client, ch_database)
    _corrupt_last_start(ch_settings)
    with BackgroundServer(played.app) as server, httpx.Client(base_url=server.url) as http:
        response = http.post("/admin/projections/rebuild", timeout=60)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "projection_unavailable"
    assert "not in the encoding expected" in error["message"]
    assert snapshot(ch_client, ch_database) == before
    assert leftovers(ch_client, ch_database) == []


class ForeignSource:
    """A raw source in an encoding the bulk statements do not read: never asked for rows."""

    encoding = "something-else"

    def head(self) -> int:
        raise AssertionError("a source in another encoding must not be read in bulk")

    def raw_page(self, after: int, limit: int) -> RawPage:
        raise AssertionError("a source in another encoding must not be read in bulk")


def test_a_source_in_another_encoding_is_replayed_event_by_event(
        played: Backend, ch_client: Client, ch_database: str) -> None:
    live = snapshot(ch_client, ch_database)
    projections_of(played).rebuild(LocalFeed(played.store, batch_size=50), raw=ForeignSource())
    assert snapshot(ch_client, ch_database) == live


def test_an_empty_store_rebuilds_into_empty_tables(ch_backend: Backend, ch_client: Client,
                                                   ch_database: str) -> None:
    feed = LocalFeed(ch_backend.store)
    report = projections_of(ch_backend).rebuild(feed, raw=feed)
    assert (report.events, report.position) == (0, 0)
    assert all(rows == [] for rows in snapshot(ch_client, ch_database).values())


@pytest.mark.postgres
def test_a_postgresql_store_is_read_in_bulk_too(postgres_url: str, tmp_path: Path,
                                                ch_client: Client, ch_database: str) -> None:
    settings = Settings.from_env({}, data_dir=tmp_path, postgres_url=postgres_url,
                                 clickhouse_database=ch_database)
    backend = build(settings, clickhouse=ch_client)
    try:
        set_policies(backend.service)
        play_scenarios(backend.service, 12, seed=51)
        play_random(backend.service, 12, seed=52)
        backend.pipeline.start(only=["projections"])
        caught_up(backend)
        live = snapshot(ch_client, ch_database)
        assert live["calls"]
        bulk_rebuild(backend)
        assert snapshot(ch_client, ch_database) == live
    finally:
        backend.close()
