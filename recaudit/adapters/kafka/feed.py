"""The Kafka feed: published events from the events topic, for any consumer.

Offsets are committed only after the consumer applied the batch (the runner
calls `commit()`), so a crash re-delivers rather than loses. Messages that
cannot be decoded go to the dead-letter topic with the error in their headers;
the feed counts them and goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from consumers.framework import FeedUnavailable
from domain.published import PublishedEvent
from recaudit.adapters.kafka.codec import Codec, CodecError

log = logging.getLogger(__name__)


@dataclass
class DeadLetterStats:
    count: int = 0


class PolledRecord(Protocol):
    """What the feed reads of a polled record: kafka-python's `ConsumerRecord` has it all."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    # The message bytes; the feed's consumer has no deserializer.
    value: bytes


class KafkaFeed:
    def __init__(self, bootstrap: str, topic: str, dlq_topic: str, *, codec: Codec,
                 max_poll_records: int = 1000) -> None:
        self.bootstrap = bootstrap
        self.codec = codec
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.max_poll_records = max_poll_records
        self.dead_letters = DeadLetterStats()

    def subscribe(self, group: str, after: int) -> KafkaSubscription:
        # `after` is not used: the group's committed offsets say where to resume.
        try:
            consumer = KafkaConsumer(
                self.topic,
                bootstrap_servers=self.bootstrap,
                group_id=group,
                client_id=f"recaudit-{group}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self.max_poll_records,
                fetch_max_wait_ms=100,
                session_timeout_ms=10_000,
                heartbeat_interval_ms=3_000,
            )
        except KafkaError as exc:
            raise FeedUnavailable(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc
        return KafkaSubscription(self, consumer)


class KafkaSubscription:
    def __init__(self, feed: KafkaFeed, consumer: KafkaConsumer) -> None:
        self.feed = feed
        self.consumer = consumer
        self._dlq: KafkaProducer | None = None

    def poll(self, timeout: float) -> list[PublishedEvent]:
        try:
            polled = self.consumer.poll(timeout_ms=int(timeout * 1000),
                                        max_records=self.feed.max_poll_records)
        except KafkaError as exc:
            raise FeedUnavailable(f"polling {self.feed.topic} failed: {exc}") from exc
        events: list[PublishedEvent] = []
        decode = self.feed.codec.decode
        batches: list[list[PolledRecord]] = list(polled.values())
        for records in batches:
            for record in records:
                try:
                    events.append(decode(record.value))
                except CodecError as exc:
                    self._dead_letter(record, exc)
        # Keep each call's events in order (they share a partition); across calls,
        # order by position so batches read naturally.
        events.sort(key=lambda e: e.position)
        return events

    def _dead_letter(self, record: PolledRecord, exc: Exception) -> None:
        headers = [
            ("error.type", type(exc).__name__.encode()),
            ("error.message", str(exc).encode()[:1000]),
            ("source.topic", record.topic.encode()),
            ("source.partition", str(record.partition).encode()),
            ("source.offset", str(record.offset).encode()),
        ]
        if self._dlq is None:
            self._dlq = KafkaProducer(bootstrap_servers=self.feed.bootstrap, acks="all",
                                      enable_idempotence=True, client_id="recaudit-dlq")
        self._dlq.send(self.feed.dlq_topic, key=record.key, value=record.value,
                       headers=headers).get(timeout=30)
        self.feed.dead_letters.count += 1
        log.warning("dead-lettered %s offset %s: %s", record.topic, record.offset, exc)

    def commit(self) -> None:
        try:
            self.consumer.commit()
        except KafkaError as exc:
            raise FeedUnavailable(f"committing offsets failed: {exc}") from exc

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            if self._dlq is not None:
                self._dlq.close(timeout=5)
