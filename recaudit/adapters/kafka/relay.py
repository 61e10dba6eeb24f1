"""The outbox relay: the event store's log, published to Kafka, nothing lost.

The events table is the outbox. The relay reads it from a durable tracking
position, publishes each published event keyed by its call (org for policy
events) with idempotent, acks=all producing, waits until the broker has
acknowledged the whole batch, and only then moves the tracking position. A
crash anywhere re-sends at most the unacknowledged tail (at-least-once);
consumers deduplicate by key and version.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.utils import Environment
from kafka import KafkaProducer
from kafka.errors import KafkaError

from domain.published import PublishedEvent
from recaudit.adapters.kafka.codec import Codec, CodecError
from recaudit.adapters.kafka.partitioner import KeyHashPartitioner
from recaudit.adapters.localfeed import LocalFeed
from recaudit.core.eventstore import EventStore

log = logging.getLogger(__name__)
TRACKING_NAME = "kafka-relay"


@dataclass
class RelayStats:
    batches: int = 0
    events: int = 0
    errors: int = 0


def producer_for(bootstrap: str, **overrides: object) -> KafkaProducer:
    config: dict[str, object] = dict(
        bootstrap_servers=bootstrap,
        client_id="recaudit-relay",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
        # Short: a batch stuck across a broker restart fails within half a minute,
        # and the relay then resends it with a fresh producer.
        delivery_timeout_ms=30_000,
        request_timeout_ms=10_000,
    )
    config.update(overrides)
    return KafkaProducer(**config)


class Relay:
    def __init__(self, store: EventStore, bootstrap: str, topic: str, *, codec: Codec,
                 batch_size: int = 2000, producer: KafkaProducer | None = None,
                 producer_settings: dict[str, object] | None = None) -> None:
        self.store = store
        self.codec = codec
        self.topic = topic
        self.bootstrap = bootstrap
        self.feed = LocalFeed(store, batch_size=batch_size)
        self.batch_size = batch_size
        self.tracking = tracking_recorder(store)
        self._producer = producer
        self.stop = threading.Event()
        self.stats = RelayStats()
        # Overrides of producer_for's configuration, for each producer the relay makes.
        self.producer_settings = dict(producer_settings or {})

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            settings = {"partitioner": KeyHashPartitioner()} | self.producer_settings
            self._producer = producer_for(self.bootstrap, **settings)
        return self._producer

    def position(self) -> int:
        return self.tracking.max_tracking_id(self.store.name) or 0

    def relay_once(self, max_in_flight: int = 4) -> int:
        """Publish everything the log holds now; returns how many log entries that covered.

        Batches are pipelined: the next batch is read and encoded while the
        broker acknowledges the previous ones. The tracking position moves
        batch by batch, in order, and only past batches the broker has fully
        acknowledged.
        """
        start = position = self.position()
        in_flight: deque[tuple[int, list[Any]]] = deque()
        while True:
            events, last = self.feed.read(position, self.batch_size)
            if last == position:
                break
            in_flight.append((last, self._send(events)))
            position = last
            self.stats.events += len(events)
            while len(in_flight) > max_in_flight or (in_flight and _acked(in_flight[0][1])):
                self._confirm(in_flight.popleft())
        if in_flight:
            self.producer.flush()
        while in_flight:
            self._confirm(in_flight.popleft())
        return position - start

    def _send(self, events: list[PublishedEvent]) -> list[Any]:
        encode, headers_for = self.codec.encode, self.codec.headers_for
        return [
            self.producer.send(self.topic, key=e.key.encode(), value=encode(e),
                               headers=headers_for(e))
            for e in events
        ]

    def _confirm(self, batch: tuple[int, list[Any]]) -> None:
        last, futures = batch
        for future in futures:
            future.get(timeout=60)  # raises if the broker did not acknowledge
        try:
            self.tracking.insert_tracking(Tracking(self.store.name, last))
        except IntegrityError:
            # Another relay moved the position past ours: our sends were duplicates.
            log.warning("relay position %s already passed; continuing", last)
        self.stats.batches += 1

    def run(self, idle_wait: float = 0.05, backoff: float = 1.0) -> None:
        """Relay until `stop` is set; broker or store outages are waited out."""
        while not self.stop.is_set():
            try:
                if self.relay_once() == 0:
                    self.stop.wait(idle_wait)
            except (KafkaError, OperationalError) as exc:
                self.stats.errors += 1
                log.warning("relay: %s; retrying in %.1fs", exc, backoff)
                self._reset_producer()
                self.stop.wait(backoff)
            except CodecError:
                # A stored event that does not fit its schema is a bug: stop
                # rather than skip it, so nothing is silently left out.
                log.exception("relay stopped: an event cannot be encoded")
                raise

    def _reset_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except KafkaError:
                pass
            self._producer = None

    def close(self) -> None:
        self.stop.set()
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None

    def wait_caught_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.position() < self.store.head():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


def _acked(futures: list[Any]) -> bool:
    return all(f.is_done for f in futures)


def tracking_recorder(store: EventStore) -> TrackingRecorder:
    """The relay's position, kept in the event store's own database."""
    env = Environment(TRACKING_NAME.upper().replace("-", ""), dict(store.env))
    factory = InfrastructureFactory.construct(env)
    return factory.tracking_recorder()
