"""A real event store holding `bench.eventgen`'s events, written in bulk.

Playing a million events through the command service takes many minutes here, so the
generated events are turned into the domain's own event objects (the classes the aggregates
store, with their class versions) and written through the library's mapper and recorder in
large transactions. What a rebuild then reads is exactly what the service would have
stored: the same topics, the same encoded states, PolicyCreated and AccessLogOpened
included. `check()` decodes a sample back through the feed and compares.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.call import Call
from domain.ids import call_stream_id, policy_stream_id
from domain.policy import Policy
from domain.published import PublishedEvent
from recaudit.core.eventstore import EventStore

CLASSES: dict[str, type[Aggregate.Event]] = {
    "CallStarted": Call.Created,
    "RecordingStarted": Call.RecordingStarted,
    "RecordingPaused": Call.RecordingPaused,
    "RecordingResumed": Call.RecordingResumed,
    "RecordingStopped": Call.RecordingStopped,
    "CallEnded": Call.CallEnded,
    "CommandRejected": Call.CommandRejected,
    "PolicySet": Policy.PolicySet,
}
WRITE_BATCH = 20_000


def domain_events(published: Iterable[PublishedEvent]) -> Iterator[Aggregate.Event]:
    """The stored events behind `published` (a PolicyCreated before each PolicySet of
    version 2, as the policy aggregate stores it)."""
    for event in published:
        fields: dict[str, Any] = dict(event.fields)
        if event.type == "PolicySet":
            stream = policy_stream_id(event.key)
            if event.version == 2:
                yield Policy.Created(originator_id=stream, originator_version=1,
                                     timestamp=event.recorded_at,
                                     originator_topic=get_topic(Policy),
                                     org_id=event.key)
        else:
            stream = call_stream_id(event.key)
            fields["fingerprint"] = f"{event.key}:{event.version}"
            if event.type == "CallStarted":
                fields["originator_topic"] = get_topic(Call)
        yield CLASSES[event.type](originator_id=stream, originator_version=event.version,
                                  timestamp=event.recorded_at, **fields)


def write(store: EventStore, published: Iterable[PublishedEvent]) -> int:
    """Write the stored events behind `published`; returns the store's head position."""
    events = domain_events(published)
    while batch := list(islice(events, WRITE_BATCH)):
        store.recorder.insert_events([store.mapper.to_stored_event(e) for e in batch])
    return store.head()


def check(store: EventStore, published: list[PublishedEvent], sample: int,
          seed: int = 7) -> int:
    """Decode `sample` stretches of the store through the local feed; each must equal the
    generated events at those positions. Returns how many distinct events were compared."""
    from recaudit.adapters.localfeed import LocalFeed

    feed = LocalFeed(store)
    by_position = {e.position: e for e in published}
    rng = random.Random(seed)
    compared: set[int] = set()
    for _ in range(sample):
        after = rng.randrange(0, max(1, store.head() - 100))
        events, _last = feed.read(after, 100)
        for event in events:
            if event != by_position[event.position]:
                raise AssertionError(f"stored event at {event.position} decodes as {event}, "
                                     f"generated {by_position[event.position]}")
        compared.update(event.position for event in events)
    return len(compared)

