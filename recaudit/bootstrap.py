"""The one place where adapters are chosen and wired together."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI

from consumers.call_states import CallStatesConsumer
from consumers.framework import EventFeed
from domain.clock import Clock, system_clock
from recaudit.api import create_app
from recaudit.committer import GroupCommitter
from recaudit.eventstore import EventStore
from recaudit.localfeed import LocalFeed
from recaudit.pipeline import Pipeline
from recaudit.service import RecordingService
from recaudit.settings import Settings

if TYPE_CHECKING:
    from recaudit.kafka.relay import Relay


@dataclass
class Backend:
    settings: Settings
    store: EventStore
    committer: GroupCommitter
    service: RecordingService
    app: FastAPI
    pipeline: Pipeline
    relay: Relay | None = None
    _relay_thread: threading.Thread | None = None

    def start_relay(self) -> None:
        """Publish the event store to Kafka on a background thread (Kafka mode only)."""
        if self.relay is not None and self._relay_thread is None:
            self._relay_thread = threading.Thread(target=self.relay.run, name="relay",
                                                  daemon=True)
            self._relay_thread.start()

    def start(self) -> None:
        """Everything `serve` runs besides the HTTP API."""
        self.start_relay()
        self.pipeline.start()

    def close(self) -> None:
        self.pipeline.stop()
        if self.relay is not None:
            self.relay.close()
            if self._relay_thread is not None:
                self._relay_thread.join(timeout=30)
        self.committer.close()
        self.store.close()


def build(settings: Settings, *, clock: Clock = system_clock) -> Backend:
    if settings.postgres_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = EventStore(settings.event_store_env())
    committer = GroupCommitter(store, max_batch=settings.group_commit_max)
    service = RecordingService(store, committer, skew=settings.clock_skew, clock=clock)
    feed, relay = _feed(settings, store)
    pipeline = Pipeline(feed)
    # Consumers are registered here by name, one factory each; `serve` starts them all.
    consumers_dir = settings.data_dir / "consumers"
    pipeline.add("call-states", lambda: CallStatesConsumer(consumers_dir / "call-states.sqlite"))
    return Backend(settings, store, committer, service, create_app(service), pipeline, relay)


def _feed(settings: Settings, store: EventStore) -> tuple[EventFeed, Relay | None]:
    """Kafka when configured (with the relay feeding it), else the local log."""
    if settings.kafka_bootstrap is None:
        return LocalFeed(store, batch_size=settings.consumer_batch), None
    from recaudit.kafka.feed import KafkaFeed
    from recaudit.kafka.relay import Relay
    from recaudit.kafka.topics import ensure_topics

    ensure_topics(settings.kafka_bootstrap, [settings.kafka_topic, settings.kafka_dlq_topic],
                  settings.kafka_partitions)
    relay = Relay(store, settings.kafka_bootstrap, settings.kafka_topic,
                  batch_size=settings.relay_batch)
    feed = KafkaFeed(settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_dlq_topic,
                     max_poll_records=settings.consumer_batch)
    return feed, relay
