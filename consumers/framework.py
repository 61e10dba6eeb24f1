"""The consumer framework: one loop, any feed, any consumer.

A *feed* (port) delivers published events in batches: the local feed reads the
event store's notification log, the Kafka feed reads the events topic. A
*consumer* applies a batch to its store idempotently (a re-delivered event
changes nothing) and remembers how far it got. The runner only acknowledges a
batch to the feed (commits Kafka offsets) after the consumer applied it, so a
crash at any point re-delivers, never loses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.published import PublishedEvent

log = logging.getLogger(__name__)
# Most events a lingering runner gathers into one batch.
MAX_BATCH = 5000


class FeedError(Exception):
    """Root of feed errors."""

    retriable = False


class FeedUnavailable(FeedError):
    """The feed cannot be read right now (broker down, store locked): back off and retry."""

    retriable = True


class Consumer(Protocol):
    """Applies batches of events to one store.

    `linger` and `close` are optional: a consumer that subclasses this protocol takes
    their defaults (no lingering, nothing to close); others define them.
    """

    name: str
    # How long (seconds) the runner keeps gathering events after the first of a batch
    # arrives, for stores that prefer fewer, larger writes (ClickHouse makes a part per
    # insert). Events are then applied up to `linger` later; a full batch is applied at
    # once. 0: each poll is applied as it comes.
    linger: float = 0.0

    def resume_position(self) -> int:
        """The global position up to which every event has been applied (0: none)."""
        ...

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        """Apply a batch, idempotently; must be durable when it returns."""
        ...

    def close(self) -> None:
        """Release the consumer's store; the pipeline calls it when it stops."""
        return None


class Subscription(Protocol):
    def poll(self, timeout: float) -> list[PublishedEvent]:
        """The next batch, or [] after `timeout` seconds with nothing new."""
        ...

    def commit(self) -> None:
        """Acknowledge everything returned by poll so far."""
        ...

    def close(self) -> None: ...


class EventFeed(Protocol):
    def subscribe(self, group: str, after: int) -> Subscription:
        """Events for consumer group `group`.

        A feed that keeps no offsets of its own starts after position `after`.
        """
        ...


@dataclass
class RunnerStats:
    batches: int = 0
    events: int = 0
    errors: int = 0


class ConsumerRunner:
    """Drives one consumer from one feed until stopped (SIGTERM sets `stop`)."""

    def __init__(self, feed: EventFeed, consumer: Consumer, *, poll_timeout: float = 0.2,
                 backoff: float = 0.5, max_batch: int = MAX_BATCH,
                 fault_pause: float = 0.0) -> None:
        self.feed = feed
        self.consumer = consumer
        self.poll_timeout = poll_timeout
        self.linger = float(consumer.linger)
        self.max_batch = max_batch
        # Fault-injection runs only: a pause before applying a batch and before
        # acknowledging it, so that a kill at a random moment often lands in between.
        self.fault_pause = fault_pause
        self.backoff = backoff
        self.stop = threading.Event()
        self.stats = RunnerStats()
        self.applied_position = 0
        self._progress = threading.Condition()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._run_subscription()
            except FeedError as exc:
                if not exc.retriable:
                    raise
                self.stats.errors += 1
                log.warning("%s: feed unavailable (%s); retrying", self.consumer.name, exc)
                self.stop.wait(self.backoff)
            except Exception:
                # The consumer failed to apply a batch (disk full, store down...).
                # Nothing was committed: back off, resubscribe, and the batch comes again.
                self.stats.errors += 1
                log.exception("%s: applying a batch failed; retrying", self.consumer.name)
                self.stop.wait(min(30.0, self.backoff * 2 ** min(self.stats.errors, 6)))

    def _run_subscription(self) -> None:
        subscription = self.feed.subscribe(self.consumer.name, self.consumer.resume_position())
        try:
            while not self.stop.is_set():
                batch = subscription.poll(self.poll_timeout)
                if not batch:
                    continue
                if self.linger > 0:
                    batch = self._gather(subscription, batch)
                self._fault_pause()
                self.consumer.apply(batch)
                self._fault_pause()
                subscription.commit()
                self.stats.batches += 1
                self.stats.events += len(batch)
                with self._progress:
                    self.applied_position = max(self.applied_position, batch[-1].position)
                    self._progress.notify_all()
        finally:
            subscription.close()

    def _fault_pause(self) -> None:
        if self.fault_pause > 0:
            time.sleep(self.fault_pause)

    def _gather(self, subscription: Subscription,
                batch: list[PublishedEvent]) -> list[PublishedEvent]:
        """More events for `batch`, for up to `linger` seconds or `max_batch` events.

        A call's events rise in position, so ordering the gathered batch by position
        keeps every call's events in order, as each single poll does.
        """
        deadline = time.monotonic() + self.linger
        while len(batch) < self.max_batch and not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            batch += subscription.poll(remaining)
        batch.sort(key=lambda event: event.position)
        return batch

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until an event at `position` or later has been applied, or `timeout`."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while self.applied_position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.wait(remaining)
        return True

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"consumer-{self.consumer.name}",
                                  daemon=True)
        thread.start()
        return thread
