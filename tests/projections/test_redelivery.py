"""Re-delivered events, any batch sizes, restarts and half-written batches: the same rows."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from domain.published import PublishedEvent
from domain.rules import Mode
from projections.consumer import ProjectionConsumer
from projections.schema import migrate
from projections.tables import Tables
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.projections.helpers import (
    play_random,
    play_scenarios,
    published,
    raw_count,
    set_policies,
    snapshot,
)

pytestmark = pytest.mark.clickhouse


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[PublishedEvent]:
    """One stream of published events, from calls driven through the real service."""
    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("events"))
    backend = build(settings)
    try:
        set_policies(backend.service)
        play_scenarios(backend.service, 16, seed=3)
        play_random(backend.service, 24, seed=9)
        backend.service.set_policy("org-always_on", mode=Mode.PAUSE_RESUME, changed_by="admin")
        return published(backend.store)
    finally:
        backend.close()


@pytest.fixture
def databases(ch_client: Client) -> Any:
    made: list[str] = []

    def make(name: str) -> Tables:
        database = f"{name}_{random.getrandbits(40):x}"
        migrate(ch_client, database)
        made.append(database)
        return Tables(ch_client, database)

    yield make
    for database in made:
        ch_client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})


def deliver(consumer: ProjectionConsumer, events: Sequence[PublishedEvent],
            sizes: Sequence[int]) -> None:
    start = 0
    for size in sizes:
        consumer.apply(events[start:start + size])
        start += size
    consumer.apply(events[start:])


def test_every_event_twice_in_other_batch_sizes_gives_identical_tables(
        events: list[PublishedEvent], databases: Any, ch_client: Client) -> None:
    once = databases("once")
    deliver(ProjectionConsumer(once), events, [500] * (len(events) // 500))

    twice = databases("twice")
    for database in (once.database, twice.database):  # raw rows are counted below
        ch_client.command(f"SYSTEM STOP MERGES `{database}`.`calls`")
    rng = random.Random(4)
    consumer = ProjectionConsumer(twice)
    start = 0
    while start < len(events):
        size = rng.randint(1, 37)
        consumer.apply(events[start:start + size])
        consumer.apply(events[max(0, start - 3):start + size])  # overlapping re-delivery
        start += size
        if rng.random() < 0.1:
            consumer = ProjectionConsumer(twice)  # a restart: nothing kept in memory
    deliver(ProjectionConsumer(twice), events, [101] * (len(events) // 101))

    assert snapshot(ch_client, twice.database) == snapshot(ch_client, once.database)
    # By design, a re-delivered event writes nothing, so each event is stored once even
    # before any merge; interval and call rows are rewritten as they change, and FINAL
    # (or a merge) keeps the latest version of each.
    assert raw_count(ch_client, twice.database, "events") == len(events)
    assert raw_count(ch_client, twice.database, "calls") > raw_count(
        ch_client, once.database, "calls") > 0
    for database in (once.database, twice.database):
        ch_client.command(f"SYSTEM START MERGES `{database}`.`calls`")
        for table in ("intervals", "calls"):
            ch_client.command(f"OPTIMIZE TABLE `{database}`.`{table}` FINAL")
    raw = "SELECT * FROM {db:Identifier}.calls ORDER BY call_id"
    assert (ch_client.query(raw, parameters={"db": twice.database}).result_rows
            == ch_client.query(raw, parameters={"db": once.database}).result_rows)


class CrashingTables(Tables):
    """The real tables, except that writing call summaries fails `failures` times."""

    def __init__(self, tables: Tables, failures: int) -> None:
        super().__init__(tables.client, tables.database, tables.suffix)
        self.failures = failures

    def insert_calls(self, rows: Sequence[Sequence[Any]]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("ClickHouse went away mid-batch")
        super().insert_calls(rows)


def test_a_half_written_batch_converges_when_delivered_again(
        events: list[PublishedEvent], databases: Any, ch_client: Client) -> None:
    clean = databases("clean")
    deliver(ProjectionConsumer(clean), events, [64] * (len(events) // 64))

    crashed = databases("crashed")
    consumer = ProjectionConsumer(CrashingTables(crashed, failures=3))
    position = 0
    for start in range(0, len(events), 64):
        batch = events[start:start + 64]
        while True:
            try:
                consumer.apply(batch)
                break
            except ConnectionError:
                # The runner would resubscribe from the stored position and re-deliver.
                assert consumer.resume_position() == position
        position = batch[-1].position
    assert snapshot(ch_client, crashed.database) == snapshot(ch_client, clean.database)


def test_state_is_recovered_from_clickhouse_after_a_restart(
        events: list[PublishedEvent], databases: Any, ch_client: Client) -> None:
    reference = databases("reference")
    deliver(ProjectionConsumer(reference), events, [])

    restarted = databases("restarted")
    half = len(events) // 2
    deliver(ProjectionConsumer(restarted), events[:half], [])
    fresh = ProjectionConsumer(restarted, cache_size=3)  # evicts almost everything
    assert fresh.resume_position() == events[half - 1].position
    deliver(fresh, events[half:], [5] * (len(events) // 5))
    assert snapshot(ch_client, restarted.database) == snapshot(ch_client, reference.database)


def test_lifecycle_events_delivered_again_after_restarts_are_stored_once(
        lifecycle_backend: Backend, databases: Any, ch_client: Client) -> None:
    """Deletions, holds and reads (whose access logs' versions are kept under their own key)
    re-delivered across restarts of the consumer write nothing more."""
    events = published(lifecycle_backend.store)
    once = databases("life_once")
    deliver(ProjectionConsumer(once), events, [])
    again = databases("life_again")
    rng = random.Random(12)
    start = 0
    while start < len(events):
        size = rng.randint(1, 5)
        consumer = ProjectionConsumer(again)  # a restart before every batch
        consumer.apply(events[max(0, start - 4):start + size])  # overlapping re-delivery
        start += size
    ProjectionConsumer(again).apply(events)  # everything again, from the top
    assert snapshot(ch_client, again.database) == snapshot(ch_client, once.database)
    assert raw_count(ch_client, again.database, "events") == len(events)
