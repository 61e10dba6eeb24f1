"""The embedded feed: published events read straight from the event store's log."""

from __future__ import annotations

import time

from eventsourcing.persistence import OperationalError

from consumers.framework import FeedUnavailable
from domain.published import TOPIC_TYPES, PublishedEvent, publish
from projections.bulk import ENCODING, RawPage
from recaudit.core.eventstore import EventStore

PUBLISHED_TOPICS = tuple(TOPIC_TYPES)


class LocalFeed:
    """Also a `projections.bulk.RawEventSource`: the store's states are the library's JSON
    (no compressor or cipher is configured), which a bulk rebuild reads undecoded."""

    encoding = ENCODING

    def __init__(self, store: EventStore, *, batch_size: int = 500) -> None:
        self.store = store
        self.batch_size = batch_size

    def head(self) -> int:
        return self.store.head()

    def raw_page(self, after: int, limit: int) -> RawPage:
        try:
            rows = self.store.index.raw_events(after, limit, PUBLISHED_TOPICS)
        except OperationalError as exc:
            raise FeedUnavailable(str(exc)) from exc
        if not rows:
            return RawPage([], [], [], [], last=max(after, self.store.head()))
        positions, topics, versions, states = (list(column) for column in zip(*rows, strict=True))
        return RawPage(positions, topics, versions, states, last=positions[-1])

    def subscribe(self, group: str, after: int) -> LocalSubscription:
        return LocalSubscription(self, after)

    def read(self, after: int, limit: int) -> tuple[list[PublishedEvent], int]:
        """Published events after position `after`, and the last position read."""
        try:
            notifications = self.store.recorder.select_notifications(
                start=after, limit=limit, inclusive_of_start=False
            )
        except OperationalError as exc:
            raise FeedUnavailable(str(exc)) from exc
        events = []
        last = after
        for notification in notifications:
            last = notification.id
            if notification.topic not in TOPIC_TYPES:
                continue  # stays inside: not worth decoding
            domain_event = self.store.mapper.to_domain_event(notification)
            published = publish(notification.topic, domain_event, notification.id)
            if published is not None:
                events.append(published)
        return events, last


class LocalSubscription:
    def __init__(self, feed: LocalFeed, after: int) -> None:
        self.feed = feed
        self.position = after

    def poll(self, timeout: float) -> list[PublishedEvent]:
        deadline = time.monotonic() + timeout
        while True:
            before = self.position
            events, self.position = self.feed.read(before, self.feed.batch_size)
            if events:
                return events
            if self.position != before:
                continue  # only internal events were read: read on
            if time.monotonic() >= deadline:
                return []
            time.sleep(0.02)

    def commit(self) -> None:
        """Nothing to do: the consumer keeps its own position."""

    def close(self) -> None:
        pass
