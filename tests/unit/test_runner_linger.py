"""A lingering runner gathers several polls into one batch, in order, and loses nothing.

The feed here is a small in-memory fake of our own port: it hands out prepared
polls one at a time, so the test decides what arrives when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from consumers.framework import ConsumerRunner
from domain.published import PublishedEvent
from tests.support import wait_until

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def event(position: int, key: str, version: int) -> PublishedEvent:
    return PublishedEvent("CallStarted", position, key, version, AT, {"at": AT})


class ScriptedSubscription:
    def __init__(self, polls: list[list[PublishedEvent]], gap: float) -> None:
        self.polls = polls
        self.gap = gap  # seconds between one poll's events and the next
        self.handed = 0
        self.committed = 0
        self.lock = threading.Lock()

    def poll(self, timeout: float) -> list[PublishedEvent]:
        with self.lock:
            if self.polls:
                time.sleep(min(self.gap, timeout))
                batch = self.polls.pop(0)
                self.handed += len(batch)
                return batch
        time.sleep(min(timeout, 0.01))
        return []

    def commit(self) -> None:
        with self.lock:
            self.committed = self.handed

    def close(self) -> None:
        pass


class ScriptedFeed:
    def __init__(self, subscription: ScriptedSubscription) -> None:
        self.subscription = subscription

    def subscribe(self, group: str, after: int) -> ScriptedSubscription:
        return self.subscription


class Recorder:
    name = "recorder"

    def __init__(self, linger: float) -> None:
        self.linger = linger
        self.batches: list[list[PublishedEvent]] = []

    def resume_position(self) -> int:
        return 0

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        self.batches.append(list(events))


def run(subscription: ScriptedSubscription, consumer: Recorder, expected: int,
        max_batch: int = 5000) -> ConsumerRunner:
    runner = ConsumerRunner(ScriptedFeed(subscription), consumer, poll_timeout=0.05,
                            max_batch=max_batch)
    thread = runner.start()
    try:
        wait_until(lambda: subscription.committed >= expected, 10, "the events to be committed")
    finally:
        runner.stop.set()
        thread.join(10)
    return runner


def test_polls_within_the_linger_become_one_batch_in_position_order() -> None:
    # Two partitions' worth of polls: positions interleave across polls, but each call's
    # own events rise, as Kafka delivers them.
    polls = [[event(1, "a", 1), event(4, "a", 2)], [event(2, "b", 1), event(3, "b", 2)],
             [event(5, "a", 3)]]
    consumer = Recorder(linger=1.0)
    runner = run(ScriptedSubscription(polls, gap=0.02), consumer, expected=5)
    assert [[e.position for e in batch] for batch in consumer.batches] == [[1, 2, 3, 4, 5]]
    assert runner.applied_position == 5


def test_without_linger_each_poll_is_its_own_batch() -> None:
    polls = [[event(1, "a", 1)], [event(2, "a", 2)], [event(3, "b", 1)]]
    consumer = Recorder(linger=0.0)
    run(ScriptedSubscription(polls, gap=0.02), consumer, expected=3)
    assert [[e.position for e in batch] for batch in consumer.batches] == [[1], [2], [3]]


def test_a_full_batch_is_applied_without_waiting_out_the_linger() -> None:
    polls = [[event(n, f"c{n}", 1)] for n in range(1, 7)]
    consumer = Recorder(linger=30.0)
    started = time.monotonic()
    run(ScriptedSubscription(polls, gap=0.0), consumer, expected=6, max_batch=3)
    assert [len(batch) for batch in consumer.batches] == [3, 3]
    assert time.monotonic() - started < 10  # far below one linger


def test_stopping_while_gathering_applies_what_was_gathered() -> None:
    subscription = ScriptedSubscription([[event(1, "a", 1)], [event(2, "a", 2)]], gap=0.0)
    consumer = Recorder(linger=60.0)
    runner = ConsumerRunner(ScriptedFeed(subscription), consumer, poll_timeout=0.05)
    thread = runner.start()
    wait_until(lambda: subscription.handed == 2, 10, "both polls")
    runner.stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert [[e.position for e in batch] for batch in consumer.batches] == [[1, 2]]
    assert subscription.committed == 2
