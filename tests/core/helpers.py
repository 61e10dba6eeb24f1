"""Helpers for the core suites: a settable clock, time in whole milliseconds, stored events."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.published import PublishedEvent, publish
from domain.rules import Mode
from recaudit.core.eventstore import EventStore
from recaudit.core.service import RecordingService
from tests.core import model

ORIGIN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW_MS = 3_600_000  # a fake server clock stands one hour after ORIGIN unless a test moves it


def at_ms(ms: int) -> datetime:
    """The instant `ms` milliseconds after ORIGIN."""
    return ORIGIN + timedelta(milliseconds=ms)


def ms_of(at: datetime) -> int:
    return (at - ORIGIN) // timedelta(milliseconds=1)


class FakeClock:
    """A clock the test sets; reads are thread-safe."""

    def __init__(self, ms: int) -> None:
        self._ms = ms
        self._lock = threading.Lock()

    def set(self, ms: int) -> None:
        with self._lock:
            self._ms = ms

    @property
    def ms(self) -> int:
        with self._lock:
            return self._ms

    def __call__(self) -> datetime:
        return at_ms(self.ms)


def org_for(mode: str) -> str:
    return f"org-{mode}"


def set_mode_policies(service: RecordingService) -> None:
    """One organisation per mode, named by org_for(mode)."""
    for mode in Mode:
        service.set_policy(org_for(mode.value), mode=mode, changed_by="setup")


@dataclass(frozen=True)
class Stored:
    """One stored notification: its position, its stored topic, its published form (or None)."""

    position: int
    topic: str
    event: PublishedEvent | None


def stored(store: EventStore, after: int = 0) -> list[Stored]:
    """Everything in the store's notification log after position `after`."""
    notifications = store.recorder.select_notifications(
        start=after, limit=1_000_000, inclusive_of_start=False
    )
    result = []
    for note in notifications:
        domain_event = store.mapper.to_domain_event(note)
        result.append(Stored(note.id, note.topic, publish(note.topic, domain_event, note.id)))
    return result


def published(store: EventStore, after: int = 0) -> list[PublishedEvent]:
    return [s.event for s in stored(store, after) if s.event is not None]


def call_events(store: EventStore, call_id: str) -> list[PublishedEvent]:
    """One call's published events, in stream order."""
    events = [e for e in published(store) if e.key == call_id and e.type != "PolicySet"]
    return sorted(events, key=lambda e: e.version)


def assert_nothing_stored(store: EventStore, head: int) -> None:
    news = stored(store, head)
    assert news == [], f"expected nothing stored after position {head}, found {news}"
    assert store.head() == head


def assert_one_rejection(
    store: EventStore, head: int, *, call_id: str, command: str, code: str, state: str
) -> PublishedEvent:
    """Exactly one new event was stored: the CommandRejected this refusal should leave."""
    news = stored(store, head)
    assert [s.topic for s in news] == ["recaudit.call.CommandRejected"], news
    event = news[0].event
    assert event is not None
    fields: dict[str, Any] = event.fields
    assert (fields["call_id"], fields["command"], fields["code"], fields["state"]) == (
        call_id,
        command,
        code,
        state,
    )
    return event


def mark_postgres_items(items: list[pytest.Item], folder: Path) -> None:
    """Mark the tests under `folder` that run on PostgreSQL with `postgres`."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("store_kind") != "postgres":
            continue
        if folder in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.postgres)


FAR_FUTURE_MS = 10**13  # a model clock no stored time can be ahead of


def check_stream(events: list[PublishedEvent]) -> model.CallModel:
    """Re-validate one call's stored events under the rules, with the reference model.

    Each event is fed to the model as the command it records, at its stored time; the model
    must accept exactly the transition events and refuse each CommandRejected with its code
    and from its state. Returns the model, now in the call's final state.
    """
    assert events, "no events"
    assert [e.version for e in events] == list(range(1, len(events) + 1)), "versions have gaps"
    positions = [e.position for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    started = events[0]
    assert started.type == "CallStarted"
    calls = model.CallModel(
        mode=started.fields["mode"], agent=started.fields["agent_id"], now=FAR_FUTURE_MS, skew=0
    )
    calls.send("start_call", started.fields["by"], ms_of(started.at), None)
    rest = events[1:]
    if calls.state == "recording":
        automatic, rest = rest[0], rest[1:]
        assert automatic.type == "RecordingStarted" and automatic.fields["automatic"] is True
    for event in rest:
        _check_one(calls, event)
    assert calls.version == len(events)
    return calls


def _check_one(calls: model.CallModel, event: PublishedEvent) -> None:
    fields = event.fields
    state = calls.state
    if event.type == "CommandRejected":
        # A refused transfer does not keep its target: only invalid_state says it was the
        # agent who had the call.
        to = None
        if fields["command"] == model.TRANSFER:
            to = calls.holder if fields["code"] == "invalid_state" else f"not-{calls.holder}"
        answer = calls.send(fields["command"], fields["by"], ms_of(event.at), None, to)
        assert (answer.kind, answer.code) == ("refused", fields["code"]), event
        assert fields["state"] == state, event
        return
    if event.type == "CallTransferred":
        assert fields["from_agent_id"] == calls.holder, event
        answer = calls.send(model.TRANSFER, fields["by"], ms_of(event.at), None,
                            fields["to_agent_id"])
        assert answer.kind == "accepted" and calls.holder == fields["to_agent_id"], event
        return
    answer = calls.send(model.COMMAND_OF[event.type], fields["by"], ms_of(event.at), None)
    assert answer.kind == "accepted", event
    assert fields["recording_no"] == (calls.recording_no or None), event
    if event.type == "CallEnded":
        assert fields["state_before"] == state
