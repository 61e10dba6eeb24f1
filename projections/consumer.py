"""The projection consumer: published events in, ClickHouse rows out, in batches.

Idempotent by design: each call's state (kept in its `calls` row) records the last version
applied, so a re-delivered event is skipped and writes nothing; policy events are checked
against the highest version stored. Rows are derived deterministically from the events, and
every table is a ReplacingMergeTree keyed by the row's identity and versioned by the position
that last changed it, so even a batch half-written before a crash converges when it is
delivered again. The position is written last, in ClickHouse, with the rows.

Nothing is true only in memory: the cache of call states is a copy of `calls` rows, dropped
whenever a batch fails or the tables are replaced, and reloaded from ClickHouse on a miss.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from consumers.framework import Consumer
from domain.published import PublishedEvent, is_access_type, is_policy_type, stream_kind
from projections.callstate import ENDED, CallProjection
from projections.errors import ProjectionsReplaced
from projections.rows import event_row
from projections.tables import Tables

log = logging.getLogger(__name__)

DEFAULT_NAME = "projections"
# Calls whose state stays cached once their batch is written: open calls only (an ended
# call is dropped at once), least recently used first out.
CACHE_SIZE = 20_000
# Ids of dropped calls remembered while "complete" (see _load_missing), at most this many.
DROPPED_LIMIT = 250_000


class Progress:
    """Wakes threads of this process waiting for the projection to move on."""

    def __init__(self) -> None:
        self._moved = threading.Condition()
        self.position = 0

    def advance(self, position: int) -> None:
        with self._moved:
            self.position = max(self.position, position)
            self._moved.notify_all()

    def wait(self, timeout: float) -> None:
        with self._moved:
            self._moved.wait(timeout)


@dataclass
class _Batch:
    """What one batch writes: event rows, and the calls it changed with their first change."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    calls: dict[str, CallProjection] = field(default_factory=dict)
    changed_from: dict[str, int] = field(default_factory=dict)

    def touch(self, call: CallProjection, first_changed: int) -> None:
        self.calls[call.call_id] = call
        before = self.changed_from.get(call.call_id, first_changed)
        self.changed_from[call.call_id] = min(before, first_changed)

    def interval_rows(self) -> list[tuple[Any, ...]]:
        return [
            call.interval_row(index)
            for call_id, call in self.calls.items()
            for index in range(self.changed_from[call_id], len(call.intervals))
        ]


class ProjectionConsumer(Consumer):
    """A `consumers.framework.Consumer` writing the projection tables of one database."""

    def __init__(self, tables: Tables, *, name: str = DEFAULT_NAME,
                 cache_size: int = CACHE_SIZE, progress: Progress | None = None,
                 linger: float = 0.0) -> None:
        self.name = name
        # Every insert makes a part in each table, and ClickHouse works best with about one
        # insert a second: the runner gathers events this long into one batch.
        self.linger = linger
        self.tables = tables
        self.cache_size = cache_size
        self.progress = progress or Progress()
        self._lock = threading.RLock()
        self._calls: OrderedDict[str, CallProjection] = OrderedDict()
        self._policies: dict[str, int] = {}
        self._evicted: set[str] = set()
        self._complete = False  # every stored call is cached or listed in _evicted
        self._generation: str | None = None
        self._position = 0
        self._written = False

    # -- the Consumer protocol ---------------------------------------------------------

    def resume_position(self) -> int:
        with self._lock:
            self._forget()
            stored = self.tables.position(self.name)
            if stored is None:
                self._position, self._generation = 0, uuid.uuid4().hex
                self._complete = self.tables.is_empty()
            else:
                self._position, self._generation = stored
            self._written = stored is not None
            return self._position

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        if not events:
            return
        with self._lock:
            try:
                if self._generation is None:
                    self.resume_position()
                self._check_generation()
                position = self._apply(events)
            except BaseException:
                self._forget()
                raise
        self.progress.advance(position)

    # -- for a rebuild in this process ---------------------------------------------------

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold off batches (a rebuild is swapping the tables)."""
        with self._lock:
            yield

    def reset(self) -> None:
        """Forget everything cached; the next batch reloads from the (new) tables."""
        with self._lock:
            self._forget()

    def close(self) -> None:
        """Nothing to release: the ClickHouse clients belong to `Projections`."""

    # -- applying a batch ----------------------------------------------------------------

    def _apply(self, events: Sequence[PublishedEvent]) -> int:
        self._load_missing(events)
        batch = _Batch()
        for event in events:
            if is_policy_type(event.type) or is_access_type(event.type):
                self._apply_policy(event, batch)
            else:
                self._apply_call(event, batch)
        self.tables.insert_events(batch.events)
        self.tables.insert_intervals(batch.interval_rows())
        self.tables.insert_calls([call.summary_row() for call in batch.calls.values()])
        position = max(event.position for event in events)
        if position > self._position:
            self.tables.write_position(self.name, position, str(self._generation))
            self._position = position
            self._written = True
        self._trim(batch.calls.values())
        return position

    def _apply_call(self, event: PublishedEvent, batch: _Batch) -> None:
        call = self._calls.get(event.key)
        if call is None:
            if event.type != "CallStarted":
                log.warning("%s: %s at position %d is for call %r, whose start was never "
                            "seen; kept in events only", self.name, event.type, event.position,
                            event.key)
                batch.events.append(event_row(event, None))
                return
            call = CallProjection.started(event)
            self._calls[call.call_id] = call
            batch.events.append(event_row(event, call))
            batch.touch(call, 0)
            return
        if event.version <= call.version:
            return  # applied already: a re-delivery
        changed = call.apply(event)
        self._calls.move_to_end(call.call_id)
        batch.events.append(event_row(event, call))
        batch.touch(call, len(call.intervals) if changed is None else changed)

    def _apply_policy(self, event: PublishedEvent, batch: _Batch) -> None:
        """An event of an organisation's stream or of a call's access log: kept in `events`
        (where a re-delivery replaces its row), and in no call's summary."""
        key = _stream_key(event)
        if event.version <= self._policies.get(key, 0):
            return
        self._policies[key] = event.version
        batch.events.append(event_row(event, None))

    # -- the cache of call states ----------------------------------------------------------

    def _load_missing(self, events: Sequence[PublishedEvent]) -> None:
        calls = {e.key for e in events
                 if stream_kind(e.type) == "call" and e.key not in self._calls}
        orgs = {_stream_key(e) for e in events
                if stream_kind(e.type) != "call" and _stream_key(e) not in self._policies}
        if self._complete:
            calls &= self._evicted
            orgs = set()
        for row in self.tables.call_rows(sorted(calls)):
            call = CallProjection.from_row(row)
            self._calls[call.call_id] = call
            self._evicted.discard(call.call_id)
        self._policies.update({org: 0 for org in orgs} | self.tables.policy_versions(sorted(orgs)))

    def _trim(self, touched: Iterable[CallProjection]) -> None:
        for call in touched:
            if call.state == ENDED:
                self._drop(call.call_id)
        while len(self._calls) > self.cache_size:
            self._drop(next(iter(self._calls)))
        if len(self._evicted) > DROPPED_LIMIT:
            self._complete = False  # from now on, every miss asks ClickHouse
            self._evicted.clear()

    def _drop(self, call_id: str) -> None:
        del self._calls[call_id]
        if self._complete:
            self._evicted.add(call_id)

    def _forget(self) -> None:
        self._calls.clear()
        self._policies.clear()
        self._evicted.clear()
        self._complete = False
        self._generation = None

    def _check_generation(self) -> None:
        """Refuse to write into tables that a rebuild in another process swapped in."""
        stored = self.tables.position(self.name)
        replaced = (stored is None and self._written) or (
            stored is not None and stored[1] != self._generation
        )
        if replaced:
            raise ProjectionsReplaced(
                f"the tables of {self.name!r} were replaced (a rebuild finished); "
                "resuming from their position"
            )


def _stream_key(event: PublishedEvent) -> str:
    """The key the versions of a non-call stream are kept under: an organisation's id, or
    `access:` and the call's id for a call's access log."""
    return f"access:{event.key}" if is_access_type(event.type) else event.key
