"""Rebuilding the projections: equal to the incremental tables, and nothing lost meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from domain.published import PublishedEvent
from projections.facade import Projections
from projections.rebuild import RebuildProgress
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import REBUILD_BATCH, Backend
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


@pytest.fixture
def running(ch_backend: Backend) -> Backend:
    set_policies(ch_backend.service)
    play_scenarios(ch_backend.service, 16, seed=21)
    play_random(ch_backend.service, 16, seed=22)
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    return ch_backend


def assert_matches_domain(backend: Backend) -> None:
    events = published(backend.store)
    calls = sorted({e.key for e in events if e.type == "CallStarted"})
    for call_id in calls:
        got = projections_of(backend).reader.timeline(call_id)
        assert got.to_json() == backend.service.timeline(call_id).to_json(), call_id


def test_rebuild_equals_the_incremental_tables(running: Backend, ch_client: Client,
                                               ch_database: str) -> None:
    incremental = snapshot(ch_client, ch_database)
    seen: list[RebuildProgress] = []
    report = projections_of(running).rebuild(LocalFeed(running.store, batch_size=50), seen.append)
    assert snapshot(ch_client, ch_database) == incremental
    events = published(running.store)
    assert report.events == len(events)
    assert report.position == events[-1].position
    assert seen and seen[-1].events == len(events)
    assert [p.events for p in seen] == sorted(p.events for p in seen)
    leftovers = ch_client.query("SELECT name FROM system.tables WHERE database = {db:String} "
                                "AND name LIKE '%rebuild%'", parameters={"db": ch_database})
    assert leftovers.result_rows == []


@pytest.mark.parametrize("bulk", [False, True], ids=["replayed", "bulk"])
def test_commands_during_a_rebuild_are_not_lost(running: Backend, bulk: bool) -> None:
    service = running.service
    during: list[str] = []

    def traffic(progress: RebuildProgress) -> None:
        # Runs inside the rebuild, between two of its batches: new events land behind it.
        if len(during) < 12:
            during.extend(play_random(service, 3, seed=100 + len(during), prefix="during"))

    background: list[str] = []
    stop = threading.Event()

    def more_traffic() -> None:
        n = 0
        while not stop.is_set() and n < 30:
            background.extend(play_scenarios(service, 1, seed=200 + n, prefix="bg"))
            n += 1

    thread = threading.Thread(target=more_traffic)
    thread.start()
    try:
        feed = LocalFeed(running.store, batch_size=40)
        projections_of(running).rebuild(feed, traffic, raw=feed if bulk else None)
    finally:
        stop.set()
        thread.join()
    assert during and background
    play_scenarios(service, 4, seed=300, prefix="after")
    caught_up(running)
    assert_matches_domain(running)


class RacingFeed:
    """The real local feed, except that the first time the rebuild has caught up, `race` runs
    (new calls that the live consumer applies to the old tables) before it hears so."""

    def __init__(self, feed: LocalFeed, race: Callable[[], None]) -> None:
        self.feed = feed
        self.race: Callable[[], None] | None = race

    def subscribe(self, group: str, after: int) -> RacingFeed:
        self.subscription = self.feed.subscribe(group, after)
        return self

    def poll(self, timeout: float) -> list[PublishedEvent]:
        batch = self.subscription.poll(timeout)
        if not batch and self.race is not None:
            race, self.race = self.race, None
            race()
        return batch

    def commit(self) -> None:
        self.subscription.commit()

    def close(self) -> None:
        self.subscription.close()


@pytest.mark.parametrize("bulk", [False, True], ids=["replayed", "bulk"])
def test_events_applied_live_just_before_the_swap_are_in_the_new_tables(
        running: Backend, bulk: bool) -> None:
    raced: list[str] = []

    def race() -> None:
        raced.extend(play_scenarios(running.service, 3, seed=500, prefix="race"))
        caught_up(running)  # the live consumer has put them in the old tables

    feed = LocalFeed(running.store)
    projections_of(running).rebuild(RacingFeed(feed, race), raw=feed if bulk else None)
    assert raced
    assert_matches_domain(running)


def test_a_rebuild_by_another_process_is_noticed_by_the_running_consumer(
        running: Backend, ch_client: Client, ch_settings: Settings) -> None:
    # Another process (here: another Projections object with no live consumer) swaps the
    # tables; the running consumer notices at its next batch and resumes from their position.
    other = Projections(ch_settings.clickhouse_url(), ch_settings.clickhouse_database,
                        client=ch_client)
    other.rebuild(LocalFeed(running.store, batch_size=REBUILD_BATCH))
    play_scenarios(running.service, 6, seed=400, prefix="later")
    caught_up(running)
    assert_matches_domain(running)
    assert running.pipeline.runners["projections"].stats.errors >= 1  # it resubscribed


def test_the_admin_endpoint_rebuilds_in_process(running: Backend, ch_client: Client,
                                                ch_database: str) -> None:
    before = snapshot(ch_client, ch_database)
    with BackgroundServer(running.app) as server, httpx.Client(base_url=server.url) as http:
        response = http.post("/admin/projections/rebuild", timeout=60)
        assert response.status_code == 200
        body = response.json()
        assert body["events"] == len(published(running.store))
        assert body["tables"] == ["events", "intervals", "calls", "positions"]
        assert snapshot(ch_client, ch_database) == before

        with projections_of(running).rebuilding():
            busy = http.post("/admin/projections/rebuild", timeout=60)
        assert busy.status_code == 409
        assert busy.json()["error"]["code"] == "rebuild_in_progress"
    assert snapshot(ch_client, ch_database) == before


def test_rebuild_reproduces_the_lifecycle_events(lifecycle_backend: Backend, ch_client: Client,
                                                 ch_database: str) -> None:
    """Deletions, retentions, holds and reads (the access logs' own versions) come out of a
    rebuild as the live consumer wrote them, in small batches that split their streams."""
    caught_up(lifecycle_backend)
    incremental = snapshot(ch_client, ch_database)
    kinds = {(row[1], row[2]) for row in incremental["events"]}  # (type, stream)
    assert {("RecordingDeleted", "call"), ("RetentionSet", "policy"),
            ("LegalHoldPlaced", "policy"), ("LegalHoldReleased", "policy"),
            ("RecordAccessed", "access")} <= kinds
    report = projections_of(lifecycle_backend).rebuild(
        LocalFeed(lifecycle_backend.store, batch_size=7))
    assert report.events == len(published(lifecycle_backend.store))
    assert snapshot(ch_client, ch_database) == incremental
