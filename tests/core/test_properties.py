"""Property-based: random command sequences against the reference model, then a replay.

Each example drives one new call through the service with random commands, actors,
timestamps (in order, out of order, beyond the clock's skew, further back than the allowed
backdating, left to the server, in other UTC offsets, with sub-millisecond digits), a server
clock that sometimes moves on between commands, and command ids (repeated, some for
different commands), with transfers to other agents (or to the agent who has the call)
interleaved. Every answer must be the model's; afterwards a separate event store instance
on the same database rebuilds the call from its events and must agree with the model too.
The same runs on calls whose pauses are capped, with the pause scheduler's round (`tick`)
among the steps: pauses end before, at and after their cap, and commands come dated on
either side of the deadline.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from domain.errors import CommandRefused
from domain.ids import call_stream_id
from domain.rules import Command, Mode
from recaudit.bootstrap import Backend, build, event_store
from recaudit.core.eventstore import EventStore
from recaudit.core.service import CallResult, RecordingService
from recaudit.core.views import TimelineView
from recaudit.settings import Settings
from tests.core import model
from tests.core.helpers import (
    NOW_MS,
    FakeClock,
    at_ms,
    call_events,
    ms_of,
    org_for,
    set_mode_policies,
)

SKEW_MS = 5_000
BACKDATE_MS = NOW_MS  # short, so that a call can outlive it: the clock starts at ORIGIN + 1 h
EXAMPLES = {"sqlite": 100, "postgres": 25}
# Recording commands come up more often than starting or ending the call.
COMMAND_IDS = [None, None, None, None, "k1", "k2", "k3", "k4"]
WEIGHTED_COMMANDS = [*model.CALL_COMMANDS[:4] * 3, "end", "start_call", model.TRANSFER,
                     model.TRANSFER]
AGENTS = ["agent-1", "agent-2", "agent-3"]  # agent-1 starts every call
# A pause cap short against the steps' times, so that deadlines come and go; `tick` is a
# round of the pause scheduler at the server clock.
CAP_MS = 10_000
CAPPED_COMMANDS = [*WEIGHTED_COMMANDS, "start", "pause", "pause", "pause", "resume", "tick",
                   "tick"]
PAUSING_MODES = [m for m in model.MODES if "pause" in model.PERMITTED[m]]


def capped_org(mode: str) -> str:
    return f"capped-{mode}"


_call_ids = itertools.count(1)


@dataclass(frozen=True)
class Step:
    command: str
    by: str
    at: int | None  # whole milliseconds after ORIGIN; None: left to the server
    micros: int  # sub-millisecond digits the client adds (cut by the server)
    offset_h: int  # the UTC offset the client writes the time in
    command_id: str | None
    tick: int = 0  # how far the server clock moves on just before this step
    to: str | None = None  # a transfer's new agent

    def when(self) -> datetime | None:
        if self.at is None:
            return None
        instant = at_ms(self.at) + timedelta(microseconds=self.micros)
        return instant.astimezone(timezone(timedelta(hours=self.offset_h)))


@st.composite
def steps(draw: st.DrawFn, weighted: tuple[str, ...] = tuple(WEIGHTED_COMMANDS),
          min_size: int = 1) -> list[Step]:
    """A start call (usually first), then commands whose times mostly move forward, with
    some requests repeated verbatim later on."""
    commands = draw(st.lists(st.sampled_from(weighted), min_size=min_size, max_size=18))
    if draw(st.integers(0, 9)) > 0:
        commands.insert(0, "start_call")
    cursor = draw(st.integers(-3_000, NOW_MS))
    now = NOW_MS
    result = []
    for command in commands:
        tick = draw(st.sampled_from([0] * 8 + [BACKDATE_MS // 2, BACKDATE_MS + 30_000]))
        now += tick
        cursor += tick  # clients mostly keep up with the clock; late ones send "past" times
        kind = draw(st.sampled_from(["next", "next", "next", "server", "future", "edge",
                                     "past", "past_edge", "cap_edge"]))
        at: int | None
        if kind == "next":
            cursor += draw(st.integers(-3_000, 30_000))
            at = cursor
        elif kind == "future":
            at = now + SKEW_MS + draw(st.integers(1, 60_000))
        elif kind == "edge":
            at = now + SKEW_MS  # the latest time the server accepts
        elif kind == "past":
            at = now - BACKDATE_MS - draw(st.integers(1, 60_000))
        elif kind == "past_edge":
            at = now - BACKDATE_MS  # the earliest time the server accepts
        elif kind == "cap_edge":
            # Around the deadline of a pause opened at the previous step's time.
            at = result[-1].at + CAP_MS + draw(st.sampled_from([-1, 0, 1])) \
                if result and result[-1].at is not None else cursor
        else:
            at = None
        result.append(
            Step(
                command=command,
                by=draw(st.sampled_from(["ann", "bob"])),
                at=at,
                micros=draw(st.sampled_from([0, 1, 999])),
                offset_h=draw(st.sampled_from([0, 2, -5])),
                command_id=draw(st.sampled_from(COMMAND_IDS)),
                tick=tick,
                to=draw(st.sampled_from(AGENTS)) if command == model.TRANSFER else None,
            )
        )
    for _ in range(draw(st.integers(0, 4))):  # clients retrying an earlier request verbatim
        source = draw(st.integers(0, len(result) - 1))
        again = replace(result[source], tick=0)
        result.insert(draw(st.integers(source + 1, len(result))), again)
    return result


def send(service: RecordingService, call_id: str, org_id: str,
         step: Step) -> CallResult | str | None:
    """The service's answer, or the code of the error it raised (for a scheduler round, the
    automatic resume it recorded, or None)."""
    if step.command == "tick":
        return service.resume_due(call_id) if service.store.call(call_id) else None
    try:
        if step.command == "start_call":
            return service.start_call(
                call_id=call_id,
                org_id=org_id,
                agent_id="agent-1",
                direction="inbound",
                at=step.when(),
                command_id=step.command_id,
            )
        if step.command == model.TRANSFER:
            return service.transfer(call_id, to_agent_id=str(step.to), by=step.by,
                                    at=step.when(), command_id=step.command_id)
        return service.command(
            call_id, Command(step.command), by=step.by, at=step.when(), command_id=step.command_id
        )
    except CommandRefused as exc:
        return exc.code


def check_answer(expected: model.Answer, actual: CallResult | str | None, step: Step,
                 calls: model.CallModel) -> None:
    if expected.kind == "error":
        assert actual == expected.code, step
        return
    assert isinstance(actual, CallResult), (step, actual)
    code = actual.refusal.value if actual.refusal else None
    got = (code, actual.status.version, actual.status.state.value, actual.status.recording_no)
    assert got == (expected.code, expected.version, expected.state, expected.recording_no), step
    if not actual.replayed:
        assert actual.status.agent_id == calls.holder, step


def check_rebuilt(reader: EventStore, call_id: str, calls: model.CallModel) -> None:
    """The call rebuilt by a separate store instance from the stored events is the model's."""
    call = reader.call(call_id)
    if calls.state == "new":
        assert call is None and call_events(reader, call_id) == []
        return
    assert call is not None
    assert (call.state.value, call.version, call.recording_no) == (
        calls.state,
        calls.version,
        calls.recording_no,
    )
    assert ms_of(call.last_at) == calls.last_at
    assert (ms_of(call.ended_at) if call.ended_at else None) == calls.ended_at
    intervals = [
        (i.state.value, ms_of(i.start), ms_of(i.end) if i.end else None, i.recording_no, i.reason)
        for i in call.timeline.intervals
    ]
    assert intervals == [
        (i.state, i.start, i.end, i.recording_no, i.reason) for i in calls.intervals
    ]
    rejected = [(r.command, ms_of(r.at), r.code, r.by) for r in call.timeline.rejected]
    assert rejected == calls.rejected
    assert TimelineView.of(call).totals() == calls.totals()
    agents = [[a.agent_id, ms_of(a.start), ms_of(a.end) if a.end else None]
              for a in call.timeline.agents]
    assert agents == calls.agents
    assert call.agent_id == calls.holder
    events = call_events(reader, call_id)
    assert [e.type for e in events] == calls.events
    assert [i.by for i in call.timeline.intervals] == calls.by_of
    assert [ms_of(e.at) for e in events
            if e.type == "RecordingResumed" and e.fields["automatic"]] == calls.automatic
    deadline = calls.deadline()
    assert (ms_of(call.pause_deadline) if call.pause_deadline else None) == deadline


def run_example(backend: Backend, clock: FakeClock, reader: EventStore, mode: str,
                script: list[Step], cap: int | None = None) -> None:
    call_id = f"prop-{next(_call_ids)}"
    org_id = org_for(mode) if cap is None else capped_org(mode)
    calls = model.CallModel(mode=mode, agent="agent-1", now=NOW_MS, skew=SKEW_MS,
                            backdate=BACKDATE_MS, cap=cap)
    clock.set(NOW_MS)
    first: dict[str, dict[str, object]] = {}
    for step in script:
        calls.now += step.tick
        clock.set(calls.now)
        if step.command == "tick":
            resumed = calls.state != "new" and calls.resume_due(calls.now)
            result = send(backend.service, call_id, org_id, step)
            assert (result is not None) == resumed, step
            continue
        expected = calls.send(step.command, step.by, step.at, step.command_id, step.to)
        actual = send(backend.service, call_id, org_id, step)
        check_answer(expected, actual, step, calls)
        if not isinstance(actual, CallResult):
            continue
        body = actual.status.to_json(actual.position)
        assert actual.replayed is calls.replayed, step
        if calls.replayed:
            assert step.command_id is not None
            assert body == first[step.command_id], "a replay must return the first answer"
        elif step.command_id is not None:
            first[step.command_id] = body
        stored_at = backend.store.position_of(call_stream_id(call_id), actual.status.version)
        assert actual.position == stored_at
    check_rebuilt(reader, call_id, calls)
    if cap is not None:
        event(f"automatic resumes: {min(len(calls.automatic), 2)}")


@pytest.fixture
def clocked_backend(settings: Settings, clock: FakeClock) -> Iterator[Backend]:
    """The suite's clocked backend, with a backdating bound of BACKDATE_MS."""
    built = build(replace(settings, max_backdate=timedelta(milliseconds=BACKDATE_MS)),
                  clock=clock)
    yield built
    built.close()


@pytest.fixture
def reader(clocked_backend: Backend, settings: Settings) -> Iterator[EventStore]:
    """A second event store instance on the same files/database, sharing nothing in memory."""
    store = event_store(settings)
    yield store
    store.close()


def test_random_sequences_follow_the_model_and_replay_the_same(
    clocked_backend: Backend, clock: FakeClock, reader: EventStore, store_kind: str
) -> None:
    set_mode_policies(clocked_backend.service)

    @hypothesis_settings(
        max_examples=EXAMPLES[store_kind],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(mode=st.sampled_from(model.MODES), script=steps())
    def check(mode: str, script: list[Step]) -> None:
        run_example(clocked_backend, clock, reader, mode, script)

    check()


def test_random_sequences_with_capped_pauses_follow_the_model_and_replay_the_same(
    clocked_backend: Backend, clock: FakeClock, reader: EventStore, store_kind: str
) -> None:
    for mode in Mode:
        clocked_backend.service.set_policy(capped_org(mode.value), mode=mode,
                                           changed_by="setup", max_pause_ms=CAP_MS)

    @hypothesis_settings(
        max_examples=EXAMPLES[store_kind],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(mode=st.sampled_from(PAUSING_MODES), script=steps(tuple(CAPPED_COMMANDS), 6))
    def check(mode: str, script: list[Step]) -> None:
        run_example(clocked_backend, clock, reader, mode, script, cap=CAP_MS)

    check()
