"""The embedded feed: published events read straight from the event store's log."""

from __future__ import annotations

import bisect
import threading
import time

from eventsourcing.persistence import OperationalError

from consumers.framework import FeedUnavailable
from domain.published import TOPIC_TYPES, PublishedEvent, publish_state
from projections.bulk import ENCODING, RawPage
from recaudit.core.eventstore import EventStore

PUBLISHED_TOPICS = tuple(TOPIC_TYPES)
# Stored events kept decoded for the other subscriptions (the embedded default runs three,
# which mostly read the same recent events): each is read and decoded once.
RECENT_KEPT = 20_000


class LocalFeed:
    """Also a `projections.bulk.RawEventSource`: the store's states are the library's JSON
    (no compressor or cipher is configured), which a bulk rebuild reads undecoded."""

    encoding = ENCODING

    def __init__(self, store: EventStore, *, batch_size: int = 500) -> None:
        self.store = store
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._from: int = 0
        self._to: int | None = None  # no window yet
        self._positions: list[int] = []
        self._events: list[PublishedEvent | None] = []

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
        """Published events after position `after`, and the last position read.

        The latest events read are kept, decoded, in a window that covers every stored
        position in (`_from`, `_to`]; a subscription inside it is answered from it, one at
        its end reads on (and extends it), one behind it reads the store directly. Positions
        become visible in order (one writer at a time assigns them), which the subscriptions
        rely on already."""
        with self._lock:
            if limit > RECENT_KEPT or (self._to is not None and after < self._from):
                return _published(self._fetch(after, limit), after)  # a bulk read, or behind
            if self._to is None or after > self._to:  # the first read, or ahead of the window:
                self._from = self._to = after         # the window starts again there
                self._positions, self._events = [], []
            if after == self._to:
                self._extend(limit)
            first = bisect.bisect_right(self._positions, after)
            positions = self._positions[first:first + limit]
            events = [e for e in self._events[first:first + len(positions)] if e is not None]
            return events, positions[-1] if positions else after

    def _extend(self, limit: int) -> None:
        assert self._to is not None
        entries = self._fetch(self._to, limit)
        if not entries:
            return
        self._positions += [position for position, _ in entries]
        self._events += [event for _, event in entries]
        self._to = self._positions[-1]
        surplus = len(self._positions) - RECENT_KEPT
        if surplus > 0:
            self._from = self._positions[surplus - 1]
            del self._positions[:surplus], self._events[:surplus]

    def _fetch(self, after: int, limit: int) -> list[tuple[int, PublishedEvent | None]]:
        """The stored events after `after`, each with its published form (None: internal)."""
        store = self.store
        try:
            rows = store.index.raw_events(after, limit)
        except OperationalError as exc:
            raise FeedUnavailable(str(exc)) from exc
        entries: list[tuple[int, PublishedEvent | None]] = []
        for position, topic, version, state in rows:
            published = None
            if topic in TOPIC_TYPES:  # the others stay inside: not decoded
                published = publish_state(topic, store.event_state(topic, state), version,
                                          position)
            entries.append((position, published))
        return entries


def _published(entries: list[tuple[int, PublishedEvent | None]], after: int
               ) -> tuple[list[PublishedEvent], int]:
    events = [event for _, event in entries if event is not None]
    return events, entries[-1][0] if entries else after


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
