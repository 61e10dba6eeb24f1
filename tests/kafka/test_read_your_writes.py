"""`?min_position` on the Kafka feed: exact across partitions consumed at different speeds.

The projection consumer reads a three-partition topic through the real broker; one
partition's consumption is held back with `KafkaConsumer.pause`, so the projection runs
ahead on the others (its highest applied position passes events still waiting on the held
one). A read with `min_position=N` must still wait for every event of its call up to N.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer
from kafka.partitioner.default import murmur2

from consumers.framework import EventFeed, Subscription
from domain.published import PublishedEvent
from domain.rules import Command, Mode
from recaudit.bootstrap import Backend, build
from recaudit.http.server import BackgroundServer
from recaudit.settings import Settings
from tests.projections.helpers import position_of, projections_of
from tests.support import wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse]

PARTITIONS = 3


def partition_of(key: str) -> int:
    """The partition the relay's producer puts `key` on (kafka-python's default)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def calls_on_two_partitions() -> tuple[str, str]:
    first = "held-call"
    other = next(f"free-call-{n}" for n in range(100)
                 if partition_of(f"free-call-{n}") != partition_of(first))
    return first, other


@dataclass
class Hold:
    """Partitions whose consumption is held back, and whether a poll has applied that."""

    partitions: set[int] = field(default_factory=set)
    applied: threading.Event = field(default_factory=threading.Event)

    def set(self, partitions: set[int]) -> None:
        self.applied.clear()
        self.partitions = partitions


class HoldingSubscription:
    def __init__(self, inner: Subscription, consumer: KafkaConsumer, hold: Hold) -> None:
        self.inner, self.consumer, self.hold = inner, consumer, hold

    def poll(self, timeout: float) -> list[PublishedEvent]:
        assigned = self.consumer.assignment()
        held = {tp for tp in assigned if tp.partition in self.hold.partitions}
        self.consumer.pause(*held)
        self.consumer.resume(*(assigned - held))
        if assigned and len(held) == len(self.hold.partitions):
            self.hold.applied.set()
        return self.inner.poll(timeout)

    def commit(self) -> None:
        self.inner.commit()

    def close(self) -> None:
        self.inner.close()


class HoldingFeed:
    """The backend's Kafka feed, holding back the partitions `hold` names."""

    def __init__(self, feed: EventFeed, hold: Hold) -> None:
        self.feed, self.hold = feed, hold

    def subscribe(self, group: str, after: int) -> HoldingSubscription:
        inner = self.feed.subscribe(group, after)
        return HoldingSubscription(inner, inner.consumer, self.hold)  # type: ignore[attr-defined]


@pytest.fixture
def backend(kafka_bootstrap: str, topics: tuple[str, str], tmp_path: Path) -> Iterator[Backend]:
    topic, dlq = topics
    settings = Settings.from_env({}, data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
                                 kafka_topic=topic, kafka_dlq_topic=dlq,
                                 kafka_partitions=PARTITIONS, projection_linger_ms=50)
    built = build(settings)
    yield built
    built.close()


def test_min_position_waits_for_the_calls_own_partition(backend: Backend) -> None:
    held_call, free_call = calls_on_two_partitions()
    hold = Hold()
    backend.pipeline.feed = HoldingFeed(backend.pipeline.feed, hold)
    service = backend.service
    service.set_policy("acme", mode=Mode.ON_DEMAND_UIS, changed_by="admin")
    for call_id in (held_call, free_call):
        service.start_call(call_id=call_id, org_id="acme", agent_id="bob", direction="inbound")
    backend.start_relay()
    backend.pipeline.start(only=["projections"])
    reader = projections_of(backend).reader
    reader.wait = 20.0
    reader.timeline(free_call, backend.store.head())  # both calls are projected
    reader.timeline(held_call, backend.store.head())

    hold.set({partition_of(held_call)})
    assert hold.applied.wait(20), "the projection consumer never held the partition"
    earlier = service.command(held_call, Command.START, by="sue").position
    later = service.command(free_call, Command.START, by="bob").position
    assert earlier is not None and later is not None and earlier < later
    # The projection runs ahead on the free partition: its highest applied position (what
    # min_position used to be compared with) passes the held call's event.
    reader.timeline(free_call, later)
    database = backend.settings.clickhouse_database
    assert position_of(projections_of(backend).read_client(), database) >= later

    with BackgroundServer(backend.app) as server, httpx.Client(base_url=server.url,
                                                               timeout=30) as http:
        reader.wait = 0.5
        for position in (earlier, later):
            behind = http.get(f"/calls/{held_call}/timeline", params={"min_position": position})
            assert behind.status_code == 503, behind.text
            assert behind.json()["error"]["code"] == "projection_behind"
        free = http.get(f"/calls/{free_call}/timeline", params={"min_position": later})
        assert free.status_code == 200, free.text
        assert free.json() == service.timeline(free_call).to_json()

        reader.wait = 20.0
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(http.get(
            f"/calls/{held_call}/timeline", params={"min_position": later})))
        waiting.start()
        time.sleep(1.0)
        assert not answers, "the read answered before the held call's event was applied"
        hold.set(set())
        waiting.join(timeout=30)
        wait_until(lambda: bool(answers), what="the held call's timeline")
    assert answers[0].status_code == 200, answers[0].text
    body = answers[0].json()
    assert body == service.timeline(held_call).to_json()
    assert [(i["state"], i["by"]) for i in body["intervals"]] == [
        ("off", "bob"), ("recording", "sue")]
