"""The call aggregate (domain.call.Call) in memory: the whole transition table, precedence,
idempotency, and rebuilding a call from its own events."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from eventsourcing.application import project_aggregate

from domain.call import Call, CommandRequest, Outcome
from domain.errors import IdempotencyConflict
from domain.rules import CallState, Command, Mode, PauseBehavior
from tests.core import model
from tests.core.helpers import NOW_MS, at_ms, ms_of

SKEW = timedelta(seconds=5)
NOW = NOW_MS  # the server clock, one hour after ORIGIN
STEP = 1_000
TIMINGS = ("on_time", "early", "late")


def request(
    command: str, at: int, *, by: str = "agent-1", command_id: str | None = None
) -> CommandRequest:
    return CommandRequest(
        command=Command(command),
        at=at_ms(at),
        by=by,
        command_id=command_id,
        fingerprint=f"{command}|{by}|{at}",
    )


def new_call(mode: str, at: int = 0, command_id: str | None = None) -> Call:
    return Call.start(
        call_id="call-1",
        org_id="org-1",
        agent_id="agent-1",
        direction="inbound",
        mode=Mode(mode),
        policy_version=2,
        pause_behavior=PauseBehavior.SKIP,
        request=request("start_call", at, command_id=command_id),
    )


def drive(call: Call, commands: tuple[str, ...]) -> int:
    """Apply commands one second apart; returns the time of the last one."""
    at = 0
    for command in commands:
        at += STEP
        outcome = call.handle(request(command, at), at_ms(NOW), SKEW)
        assert outcome.refusal is None, (command, outcome)
    return at


def event_names(call: Call) -> list[str]:
    return [type(e).__name__ for e in call.collect_events()]


def timing_at(timing: str, last: int) -> int:
    return {"on_time": last + STEP, "early": last - 1, "late": NOW + 5_001}[timing]


def expected_code(mode: str, state: str, command: str, timing: str) -> str | None:
    code = model.rule_code(mode, state, command)
    if code is None and timing == "early":
        return "out_of_order"
    if code is None and timing == "late":
        return "future_timestamp"
    return code


CELLS = [
    (mode, path, command, timing)
    for mode in model.MODES
    for path in model.PATHS[mode]
    for command in model.COMMANDS
    for timing in TIMINGS
]


@pytest.mark.parametrize(("mode", "path", "command", "timing"), CELLS)
def test_transition_table(mode: str, path: str, command: str, timing: str) -> None:
    call = new_call(mode)
    last = drive(call, model.PATHS[mode][path])
    state = model.state_of_path(mode, path)
    assert call.state.value == state
    call.collect_events()
    version = call.version

    outcome = call.handle(request(command, timing_at(timing, last)), at_ms(NOW), SKEW)

    code = expected_code(mode, state, command, timing)
    assert (outcome.refusal.value if outcome.refusal else None) == code
    assert outcome.version == call.version == version + 1
    events = event_names(call)
    if code is None:
        assert call.state.value == model.MOVES[command][state]
        assert events == [model.EVENT_OF[command]]
    else:
        assert call.state.value == state, "a refusal must not change the state"
        assert events == ["CommandRejected"]


@pytest.mark.parametrize("mode", model.MODES)
def test_start_call_makes_the_call_in_its_first_state(mode: str) -> None:
    call = new_call(mode, at=500)
    first = model.FIRST_STATE[mode]
    assert call.state.value == first
    assert call.started_at == at_ms(500) and call.last_at == at_ms(500)
    expected = ["Created"] + (["RecordingStarted"] if first == "recording" else [])
    assert event_names(call) == expected
    assert call.version == len(expected)
    assert call.recording_no == (1 if first == "recording" else 0)


def test_out_of_order_beats_future_timestamp() -> None:
    call = new_call("on_demand_uis", at=NOW)
    # The clock has gone back by a minute: 30 s after "now" is both future and early.
    now = at_ms(NOW - 60_000)
    outcome = call.handle(request("start", NOW - 30_000), now, SKEW)
    assert outcome.refusal is not None and outcome.refusal.value == "out_of_order"


@pytest.mark.parametrize(
    ("mode", "command"), list(itertools.product(model.MODES, ["pause", "stop"]))
)
def test_rule_codes_beat_time_codes(mode: str, command: str) -> None:
    call = new_call(mode, at=10_000)
    for at in (5_000, NOW + 60_000):  # early, then far in the future
        outcome = call.handle(request(command, at), at_ms(NOW), SKEW)
        rule = model.rule_code(mode, model.FIRST_STATE[mode], command)
        time = "out_of_order" if at < 10_000 else "future_timestamp"
        assert outcome.refusal is not None
        assert outcome.refusal.value == (rule or time)


def test_a_refusal_does_not_move_the_calls_clock() -> None:
    call = new_call("on_demand", at=1_000)
    call.handle(request("pause", 9_000), at_ms(NOW), SKEW)  # invalid_state, stored at 9 s
    assert call.last_at == at_ms(1_000)
    outcome = call.handle(request("start", 2_000), at_ms(NOW), SKEW)
    assert outcome.refusal is None


def test_server_time_never_goes_behind_the_last_event() -> None:
    call = new_call("on_demand", at=NOW + 4_000)  # the client was slightly ahead
    server = CommandRequest(Command.START, at_ms(NOW), "agent-1", None, "start|server", False)
    outcome = call.handle(server, at_ms(NOW), SKEW)
    assert outcome.refusal is None
    assert call.last_at == at_ms(NOW + 4_000)
    assert call.timeline.intervals[-1].start == at_ms(NOW + 4_000)


def test_repeated_command_id_replays_the_first_outcome_and_stores_nothing() -> None:
    call = new_call("pause_resume")
    first = call.handle(request("pause", 1_000, command_id="k1"), at_ms(NOW), SKEW)
    refused = call.handle(request("stop", 2_000, command_id="k2"), at_ms(NOW), SKEW)
    call.collect_events()
    version = call.version

    again = call.handle(request("pause", 1_000, command_id="k1"), at_ms(NOW), SKEW)
    again_refused = call.handle(request("stop", 2_000, command_id="k2"), at_ms(NOW), SKEW)

    assert again == Outcome(first.version, None, replayed=True)
    assert again_refused == Outcome(refused.version, refused.refusal, replayed=True)
    assert call.version == version and call.collect_events() == []


@pytest.mark.parametrize(
    "other",
    [
        request("resume", 1_000, command_id="k1"),  # another command
        request("pause", 1_001, command_id="k1"),  # another time
        request("pause", 1_000, by="agent-2", command_id="k1"),  # someone else
    ],
)
def test_reused_command_id_for_another_command_is_a_conflict(other: CommandRequest) -> None:
    call = new_call("pause_resume")
    call.handle(request("pause", 1_000, command_id="k1"), at_ms(NOW), SKEW)
    call.collect_events()
    version, state = call.version, call.state
    with pytest.raises(IdempotencyConflict, match="k1"):
        call.handle(other, at_ms(NOW), SKEW)
    assert call.version == version and call.state is state
    assert call.collect_events() == []


@pytest.mark.parametrize("mode", model.MODES)
def test_replaying_the_start_call_gives_the_version_start_call_answered(mode: str) -> None:
    call = new_call(mode, at=0, command_id="start-1")
    answered = call.version  # 2 when the call records by itself from the start
    again = call.handle(request("start_call", 0, command_id="start-1"), at_ms(NOW), SKEW)
    assert again == Outcome(answered, None, replayed=True)
    rebuilt = project_aggregate(None, call.collect_events())
    again = rebuilt.handle(request("start_call", 0, command_id="start-1"), at_ms(NOW), SKEW)
    assert again == Outcome(answered, None, replayed=True)


def test_a_call_rebuilt_from_its_events_is_the_same_call() -> None:
    call = new_call("on_demand_uis", command_id="s")
    commands = ["start", "pause", "pause", "stop", "resume", "start", "end", "pause"]
    for i, command in enumerate(commands, start=1):
        call.handle(request(command, i * STEP, command_id=f"c{i}"), at_ms(NOW), SKEW)
    rebuilt = project_aggregate(None, call.collect_events())
    assert rebuilt is not None
    for name in ("state", "version", "recording_no", "last_at", "ended_at", "commands"):
        assert getattr(rebuilt, name) == getattr(call, name), name
    assert rebuilt.timeline == call.timeline
    assert rebuilt.state is CallState.ENDED and rebuilt.recording_no == 2
    assert [r.code for r in rebuilt.timeline.rejected] == [
        "invalid_state", "invalid_state", "call_ended",
    ]
    assert [ms_of(i.start) for i in rebuilt.timeline.intervals] == [0, 1_000, 2_000, 4_000, 6_000]


def reachable_by_the_aggregate() -> set[tuple[str, str]]:
    """Walk every sequence of accepted commands from a new call of each mode."""
    seen: set[tuple[str, str]] = set()
    for mode in model.MODES:
        todo: list[tuple[str, ...]] = [()]
        while todo:
            path = todo.pop()
            call = new_call(mode)
            at = 0
            for command in path:
                at += STEP
                call.handle(request(command, at), at_ms(NOW), SKEW)
            seen.add((mode, call.state.value))
            if len(path) < 5:
                todo.extend(
                    (*path, c)
                    for c in model.CALL_COMMANDS
                    if model.rule_code(mode, call.state.value, c) is None
                )
    return seen


def test_the_aggregate_reaches_exactly_the_states_the_rules_allow() -> None:
    reachable = reachable_by_the_aggregate()
    assert reachable == model.reachable_states()
    covered = {(m, model.state_of_path(m, p)) for m in model.MODES for p in model.PATHS[m]}
    assert covered == reachable, "every reachable state must have a path in the table"
    assert ("always_on", "paused") not in reachable and ("pause_resume", "off") not in reachable


def opened_by(call: Call) -> list[tuple[str, str | None]]:
    return [(i.state.value, i.by) for i in call.timeline.intervals]


def test_each_interval_names_who_opened_it() -> None:
    call = new_call("on_demand_uis")  # started by agent-1
    for n, (command, by) in enumerate((("start", "sup"), ("pause", "agent-1"),
                                       ("resume", "sup"), ("stop", "qa"), ("end", "agent-1"),
                                       ("start", "late")), start=1):
        call.handle(request(command, n * STEP, by=by), at_ms(NOW), SKEW)
    assert opened_by(call) == [("off", "agent-1"), ("recording", "sup"),
                               ("paused", "agent-1"), ("recording", "sup"), ("off", "qa")]
    assert [r.by for r in call.timeline.rejected] == ["late"]


def test_a_recording_that_starts_with_the_call_is_opened_by_the_system() -> None:
    call = new_call("pause_resume")
    call.handle(request("pause", STEP, by="sup"), at_ms(NOW), SKEW)
    call.handle(request("resume", 2 * STEP, by="agent-1"), at_ms(NOW), SKEW)
    assert opened_by(call) == [("recording", "system"), ("paused", "sup"),
                               ("recording", "agent-1")]
    replayed = project_aggregate(None, call.collect_events())
    assert opened_by(replayed) == opened_by(call)
