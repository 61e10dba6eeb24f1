"""Capped pauses through the service, on SQLite and PostgreSQL: the cap kept with the call,
the automatic resume at exactly pause time + cap, recorded by a command dated at or after
the deadline (before it is judged) or by the scheduler's round, and never twice.

Each cell drives a capped call to a pause, then sends one command dated around the
deadline, and compares the answer and the stored events with the reference model.
"""

from __future__ import annotations

import pytest

from domain.rules import Command, Mode
from recaudit.bootstrap import Backend, event_store
from recaudit.core.scheduler import PauseScheduler
from recaudit.settings import Settings
from tests.core import model
from tests.core.helpers import NOW_MS, FakeClock, at_ms, call_events, ms_of, stored

CAP = 60_000
PAUSED_AT = NOW_MS - 120_000
DEADLINE = PAUSED_AT + CAP
SKEW = 5_000
# Times a command is dated at, around the deadline (None: left to the server clock).
TIMES = {"before": DEADLINE - 1, "at": DEADLINE, "after": DEADLINE + 1, "server": None}
COMMANDS = ("pause", "resume", "stop", "end")


def capped(backend: Backend, mode: Mode = Mode.ON_DEMAND_UIS, cap: int | None = CAP) -> None:
    backend.service.set_policy("capped", mode=mode, changed_by="admin", max_pause_ms=cap)


def paused_call(backend: Backend, call_id: str, mode: Mode = Mode.ON_DEMAND_UIS) -> None:
    service = backend.service
    service.start_call(call_id=call_id, org_id="capped", agent_id="bob", direction="inbound",
                       at=at_ms(PAUSED_AT - 2_000))
    if mode in (Mode.ON_DEMAND, Mode.ON_DEMAND_UIS):
        assert service.command(call_id, Command.START, by="bob",
                               at=at_ms(PAUSED_AT - 1_000)).refusal is None
    assert service.command(call_id, Command.PAUSE, by="bob", at=at_ms(PAUSED_AT)).refusal is None


def model_of(mode: Mode) -> model.CallModel:
    calls = model.CallModel(mode=mode.value, agent="bob", now=NOW_MS, skew=SKEW, cap=CAP)
    calls.send("start_call", "bob", PAUSED_AT - 2_000, None)
    if mode in (Mode.ON_DEMAND, Mode.ON_DEMAND_UIS):
        calls.send("start", "bob", PAUSED_AT - 1_000, None)
    calls.send("pause", "bob", PAUSED_AT, None)
    return calls


@pytest.mark.parametrize("timing", TIMES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_around_the_deadline_is_judged_after_the_automatic_resume(
    clocked_backend: Backend, command: str, timing: str
) -> None:
    capped(clocked_backend)
    paused_call(clocked_backend, "c1")
    status = clocked_backend.service.call("c1").status
    assert status.pause_deadline == at_ms(DEADLINE)
    calls = model_of(Mode.ON_DEMAND_UIS)
    at = TIMES[timing]
    expected = calls.send(command, "bob", at, None)
    result = clocked_backend.service.command(
        "c1", Command(command), by="bob", at=None if at is None else at_ms(at))
    got = (result.refusal.value if result.refusal else None, result.status.version,
           result.status.state.value)
    assert got == (expected.code, expected.version, expected.state)
    events = call_events(clocked_backend.store, "c1")
    assert [e.type for e in events] == calls.events
    automatic = [e for e in events if e.type == "RecordingResumed" and e.fields["automatic"]]
    assert [ms_of(e.at) for e in automatic] == calls.automatic
    assert calls.automatic == ([] if timing == "before" else [DEADLINE])
    for event in automatic:
        assert (event.fields["by"], event.fields["recording_no"]) == ("system", 1)
    deadline = result.status.pause_deadline
    assert (ms_of(deadline) if deadline else None) == calls.deadline()


def test_a_command_dated_before_the_deadline_after_the_resume_is_out_of_order(
    clocked_backend: Backend
) -> None:
    capped(clocked_backend)
    paused_call(clocked_backend, "c1")
    assert clocked_backend.service.resume_due("c1") is not None
    result = clocked_backend.service.command("c1", Command.PAUSE, by="bob",
                                             at=at_ms(DEADLINE - 1))
    assert result.refusal is not None and result.refusal.value == "out_of_order"
    assert result.status.state.value == "recording"


def test_the_scheduler_resumes_once_at_the_deadline_and_the_replay_agrees(
    clocked_backend: Backend, clock: FakeClock, settings: Settings
) -> None:
    capped(clocked_backend, Mode.PAUSE_RESUME)
    clock.set(PAUSED_AT)
    paused_call(clocked_backend, "c1", Mode.PAUSE_RESUME)
    scheduler = PauseScheduler(clocked_backend.service, poll_seconds=1, clock=clock)
    scheduler.push("c1", at_ms(DEADLINE))
    clock.set(DEADLINE - 1)
    assert scheduler.run_due() == 0 and scheduler.pending() == 1
    clock.set(DEADLINE + 5_000)
    assert scheduler.run_due() == 1
    scheduler.push("c1", at_ms(DEADLINE))  # a stale reminder, e.g. from a second source
    assert scheduler.run_due() == 0
    events = call_events(clocked_backend.store, "c1")
    assert [(e.type, ms_of(e.at), e.fields["by"]) for e in events[-2:]] == [
        ("RecordingPaused", PAUSED_AT, "bob"), ("RecordingResumed", DEADLINE, "system")]
    assert events[-1].fields["automatic"] is True
    live = clocked_backend.service.call("c1").status
    assert (live.state.value, live.pause_deadline) == ("recording", None)
    timeline = clocked_backend.service.timeline("c1")
    assert [(i.state.value, i.by) for i in timeline.intervals] == [
        ("recording", "system"), ("paused", "bob"), ("recording", "system")]
    reader = event_store(settings)  # a fresh store instance: the same call from its events
    try:
        call = reader.call("c1")
        assert call is not None
        assert (call.state, call.version, call.timeline.intervals) == (
            live.state, live.version, list(timeline.intervals))
    finally:
        reader.close()


@pytest.mark.parametrize("ending", ["end", "stop", "resume"])
def test_ending_stopping_or_resuming_before_the_deadline_cancels_it(
    clocked_backend: Backend, clock: FakeClock, ending: str
) -> None:
    capped(clocked_backend)
    paused_call(clocked_backend, "c1")
    clocked_backend.service.command("c1", Command(ending), by="bob", at=at_ms(DEADLINE - 10))
    head = clocked_backend.store.head()
    clock.set(DEADLINE + 60_000)
    assert clocked_backend.service.resume_due("c1") is None
    assert stored(clocked_backend.store, head) == []


def test_the_cap_is_the_one_in_force_when_the_call_started(
    clocked_backend: Backend, clock: FakeClock
) -> None:
    capped(clocked_backend)
    paused_call(clocked_backend, "c1")
    capped(clocked_backend, cap=None)  # a policy change never reaches a running call
    clocked_backend.service.set_policy("capped", mode=Mode.ON_DEMAND_UIS, changed_by="admin",
                                       agent_id="bob", max_pause_ms=2_000)
    assert clocked_backend.service.call("c1").status.pause_deadline == at_ms(DEADLINE)
    started = call_events(clocked_backend.store, "c1")[0]
    assert started.fields["max_pause_ms"] == CAP
    assert clocked_backend.service.resume_due("c1") is not None
    policy = clocked_backend.service.policy("capped").to_json()
    assert policy["max_pause_ms"] is None and policy["overrides"]["bob"]["max_pause_ms"] == 2_000
    assert [h["max_pause_ms"] for h in policy["history"]] == [CAP, None, 2_000]


def test_an_uncapped_pause_never_resumes_by_itself(clocked_backend: Backend,
                                                   clock: FakeClock) -> None:
    capped(clocked_backend, cap=None)
    paused_call(clocked_backend, "c1")
    assert clocked_backend.service.call("c1").status.pause_deadline is None
    clock.set(NOW_MS + 10 * 86_400_000)
    head = clocked_backend.store.head()
    assert clocked_backend.service.resume_due("c1") is None
    assert stored(clocked_backend.store, head) == []
