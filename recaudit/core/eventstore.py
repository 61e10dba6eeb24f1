"""The event store: an `eventsourcing` application on SQLite (default) or PostgreSQL.

Both aggregates live in one application so every event has one place in a
single global order (its notification id, which the API calls `position`).

Two lookups the library's recorders do not offer (an event's position, a
stream's last version) are asked of a `StreamIndex`: a port, answered in SQL
by one small adapter per backend (`recaudit.adapters.eventstore`). The
composition root hands the store its adapters keyed by persistence module;
the store picks the one of the module the library was configured with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    JSONTranscoder,
    MapperDeserialisationError,
    Recording,
    Transcoder,
)
from eventsourcing.utils import resolve_topic

from domain.call import Call
from domain.ids import call_stream_id, policy_stream_id
from domain.policy import Policy
from recaudit.core.transcoder import FlatStateTranscoder

# A stored event as a bulk read gives it, undecoded: position, topic, version, state.
RawEvent = tuple[int, str, int, bytes]


class StreamIndex(Protocol):
    """Point lookups in the stored events, cheaper than reading a stream, and the bulk read
    of a rebuild (port)."""

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        """The global position of one stored event, or None if it is not stored."""
        ...

    def stream_version(self, stream_id: UUID) -> int | None:
        """The version of a stream's last stored event, or None if it has none."""
        ...

    def version_at(self, stream_id: UUID, position: int) -> int | None:
        """The version of the stream's last event at or before `position`, or None."""
        ...

    def stream_versions(self, stream_ids: Sequence[UUID]) -> dict[UUID, int | None]:
        """`stream_version` of each of `stream_ids`, in one query."""
        ...

    def raw_events(self, after: int, limit: int,
                   topics: Sequence[str] | None = None) -> list[RawEvent]:
        """At most `limit` stored events of `topics` (None: of every topic) after position
        `after`, in position order, with their states as stored (the library's
        notifications cost more to make than the rows to read)."""
        ...

    def close(self) -> None:
        """Release what the index holds of its own (the store closes with it)."""
        ...


# Builds the index of one backend over the recorder the library made for it.
StreamIndexFactory = Callable[[ApplicationRecorder], StreamIndex]


class EventStore(Application[UUID]):
    """The recaudit application: streams of calls and policies, in one log."""

    name = "recaudit"

    def __init__(self, env: Mapping[str, str] | None = None, *,
                 indexes: Mapping[str, StreamIndexFactory]) -> None:
        """`indexes`: a stream index factory per persistence module (the library's
        PERSISTENCE_MODULE setting, e.g. "eventsourcing.sqlite")."""
        super().__init__(env=dict(env or {}))
        # The module of the factory the library resolved from PERSISTENCE_MODULE.
        module = type(self.factory).__module__
        make_index = indexes.get(module)
        if make_index is None:
            super().close()
            raise TypeError(f"no stream index for persistence module {module!r} "
                            f"(known: {', '.join(sorted(indexes)) or 'none'})")
        self.index = make_index(self.recorder)
        # Saving is then only storing the new events: see `save`.
        self._stores_events_only = self.snapshots is None and self.repository.cache is None

    def close(self) -> None:
        self.index.close()
        super().close()

    def construct_transcoder(self) -> Transcoder:
        """The library's transcoder, unless it is its plain JSON one: then one that writes
        the same bytes, and reads the same values, faster (`recaudit.core.transcoder`)."""
        transcoder = super().construct_transcoder()
        if type(transcoder) is not JSONTranscoder:
            return transcoder
        faster = FlatStateTranscoder()
        self.register_transcodings(faster)
        return faster

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """`Application.save`, without its per-object protocol checks when they change nothing.

        The library tells aggregates from events with `isinstance` against
        runtime-checkable protocols, about 20 us an aggregate on Python 3.11:
        more than a third of what saving a batch costs. When everything given is
        an aggregate and the application neither snapshots nor fills a
        repository cache (as configured here), saving comes down to putting the
        aggregates' new events in the event store, which is done directly
        through the store's public `put`. Anything else goes to the library.
        """
        if self._stores_events_only and all(isinstance(obj, BaseAggregate) for obj in objs):
            events = [event for obj in objs for event in obj.collect_events()]
            return self.events.put(events, **kwargs)
        return super().save(*objs, **kwargs)

    def event_state(self, topic: str, stored: bytes) -> dict[str, Any]:
        """A stored event's state, decoded and upcast to its class's current version, as
        the library's mapper reads it, but without making the event object and its id.

        The feed needs only the state to publish an event (`domain.published`), and
        making the object and its id was about a third of reading one."""
        mapper, cls = self.mapper, resolve_topic(topic)
        try:
            if mapper.cipher:
                stored = mapper.cipher.decrypt(stored)
            if mapper.compressor:
                stored = mapper.compressor.decompress(stored)
            state: dict[str, Any] = mapper.transcoder.decode(stored)
        except Exception as exc:  # as the mapper says it
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic '{topic}': {exc}"
            ) from exc
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return state

    def call(self, call_id: str, version: int | None = None) -> Call | None:
        return self._get(call_stream_id(call_id), version)

    def policy(self, org_id: str) -> Policy | None:
        return self._get(policy_stream_id(org_id), None)

    def _get(self, stream_id: UUID, version: int | None) -> Any:
        # One read: `in repository` would replay the stream once more before `get`.
        try:
            return self.repository.get(stream_id, version=version)
        except AggregateNotFoundError:
            return None

    def position_of(self, stream_id: UUID, version: int) -> int | None:
        """The global position of one stored event, or None if it is not stored."""
        return self.index.position_of(stream_id, version)

    def stream_version(self, stream_id: UUID) -> int | None:
        """The version of a stream's last stored event, or None if it has none.

        One small query, much cheaper than reading the stream: the writer uses
        it to learn that a stream is new, or that its cached copy is current.
        """
        return self.index.stream_version(stream_id)

    def stream_versions(self, stream_ids: Sequence[UUID]) -> dict[UUID, int | None]:
        """`stream_version` of each of `stream_ids`, asked in one query: what the writer
        needs of a whole batch before its jobs run."""
        return self.index.stream_versions(stream_ids) if stream_ids else {}

    def call_version_at(self, call_id: str, position: int) -> int | None:
        """The version of the call's last event at or before `position`, or None if the
        call has no event there (read-your-writes on a read model waits for this version)."""
        return self.index.version_at(call_stream_id(call_id), position)

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0
