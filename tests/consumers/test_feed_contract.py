"""One contract, two feeds: the local event log and Kafka behave the same to a consumer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.framework import EventFeed
from domain.published import PublishedEvent
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.support import wait_until
from tests.workload import drive, set_policies


def _poll_all(feed: EventFeed, group: str, after: int, expected: int,
              commit: bool = True) -> list[PublishedEvent]:
    subscription = feed.subscribe(group, after)
    got: list[PublishedEvent] = []
    try:
        def more() -> bool:
            batch = subscription.poll(0.2)
            got.extend(batch)
            if batch and commit:
                subscription.commit()
            return len(got) >= expected

        wait_until(more, 60, f"{expected} events from the feed")
    finally:
        subscription.close()
    return got


class FeedContract:
    """Subclasses provide `backend` (with some traffic relayed) and `feed`."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        raise NotImplementedError

    @pytest.fixture
    def feed(self, backend: Backend) -> EventFeed:
        raise NotImplementedError

    def published(self, backend: Backend) -> list[PublishedEvent]:
        events, _ = LocalFeed(backend.store).read(0, 100_000)
        return events

    def test_delivers_every_event_once_in_order_per_call(self, backend: Backend,
                                                         feed: EventFeed) -> None:
        expected = self.published(backend)
        got = _poll_all(feed, "contract-a", 0, len(expected))
        assert sorted(got, key=lambda e: e.position) == expected
        by_key: dict[str, list[int]] = {}
        for event in got:
            by_key.setdefault(event.key, []).append(event.version)
        assert all(versions == sorted(versions) for versions in by_key.values())

    def test_uncommitted_events_are_delivered_again(self, backend: Backend,
                                                    feed: EventFeed) -> None:
        expected = self.published(backend)
        first = _poll_all(feed, "contract-b", 0, len(expected), commit=False)
        again = _poll_all(feed, "contract-b", 0, len(expected), commit=False)
        assert {e.position for e in again} == {e.position for e in first}

    def test_events_decode_to_the_contract_fields(self, backend: Backend,
                                                  feed: EventFeed) -> None:
        expected = self.published(backend)
        got = _poll_all(feed, "contract-c", 0, len(expected))
        for event in got:
            assert event.at.tzinfo is not None
            assert event.key == (event.fields["org_id"] if event.type == "PolicySet"
                                 else event.fields["call_id"])


class TestLocalFeed(FeedContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        built = build(Settings.from_env({}, data_dir=tmp_path))
        set_policies(built.service)
        drive(built.service, 30, seed=11)
        yield built
        built.close()

    @pytest.fixture
    def feed(self, backend: Backend) -> EventFeed:
        return LocalFeed(backend.store, batch_size=17)


@pytest.mark.kafka
class TestKafkaFeed(FeedContract):
    @pytest.fixture
    def backend(self, kafka_settings: Settings) -> Iterator[Backend]:
        built = build(kafka_settings)
        set_policies(built.service)
        drive(built.service, 30, seed=11)
        assert built.relay is not None
        while built.relay.relay_once():
            pass
        yield built
        built.close()

    @pytest.fixture
    def feed(self, backend: Backend) -> EventFeed:
        from recaudit.adapters.kafka.codec import Codec
        from recaudit.adapters.kafka.feed import KafkaFeed

        s = backend.settings
        assert s.kafka_bootstrap is not None
        return KafkaFeed(s.kafka_bootstrap, s.kafka_topic, s.kafka_dlq_topic,
                         codec=Codec.from_package(), max_poll_records=17)
