"""The transition table through the service, on SQLite and on PostgreSQL.

Every reachable (mode, state) x every command, each cell on a call of its own; SQLite also
runs each cell with an out-of-order, a future and an ancient timestamp (further back than
the allowed backdating: `past_timestamp` for a new call, `out_of_order` first on a call).
Every answer is checked against the reference model and against what the store holds
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import FutureTimestamp, PastTimestamp, UnknownCall
from domain.rules import CallState, Command, Mode, Refusal
from recaudit.bootstrap import Backend, build
from recaudit.core.service import CallResult, RecordingService
from recaudit.settings import Settings
from tests.core import model
from tests.core.helpers import (
    FakeClock,
    assert_nothing_stored,
    assert_one_rejection,
    at_ms,
    org_for,
    set_mode_policies,
    stored,
)

STEP = 1_000
PAST_TIMINGS = ("on_time",)
ALL_TIMINGS = ("on_time", "early", "late", "ancient")


def late() -> datetime:
    """Well beyond the real clock plus any skew."""
    return datetime.now(UTC) + timedelta(hours=1)


def ancient() -> datetime:
    """Further back than the default backdating bound allows."""
    return datetime.now(UTC) - Settings().max_backdate - timedelta(days=1)


def start(service: RecordingService, call_id: str, mode: str, at: datetime) -> CallResult:
    return service.start_call(
        call_id=call_id, org_id=org_for(mode), agent_id="agent-1", direction="outbound", at=at
    )


def bring_to(service: RecordingService, call_id: str, mode: str, path: str) -> int:
    """Start a call and drive it along PATHS[mode][path]; returns the last event's time."""
    start(service, call_id, mode, at_ms(0))
    at = 0
    for command in model.PATHS[mode][path]:
        at += STEP
        result = service.command(call_id, Command(command), by="agent-1", at=at_ms(at))
        assert result.refusal is None
    return at


def expected_code(mode: str, state: str, command: str, timing: str) -> str | None:
    code = model.rule_code(mode, state, command)
    if code is None and timing != "on_time":
        # Out of order comes before the clock's bounds: an ancient time is early too.
        return {"early": "out_of_order", "late": "future_timestamp",
                "ancient": "out_of_order"}[timing]
    return code


def check_existing_cell(backend: Backend, mode: str, path: str, command: str, timing: str) -> None:
    service, store = backend.service, backend.store
    call_id = f"{mode}.{path}.{command}.{timing}"
    last = bring_to(service, call_id, mode, path)
    state = model.state_of_path(mode, path)
    version = service.call(call_id).status.version
    head = store.head()
    at = {"on_time": at_ms(last + STEP), "early": at_ms(last - 1), "late": late(),
          "ancient": ancient()}[timing]

    if command == "start_call":
        result = start(service, call_id, mode, at)
    else:
        result = service.command(call_id, Command(command), by="agent-2", at=at)

    code = expected_code(mode, state, command, timing)
    assert (result.refusal.value if result.refusal else None) == code, (call_id, result)
    assert result.status.version == version + 1
    assert result.position == store.head() == head + 1
    if code is None:
        assert result.status.state.value == model.MOVES[command][state]
        [new] = stored(store, head)
        assert new.event is not None and new.event.type == model.EVENT_OF[command]
        assert (new.event.version, new.event.fields["by"]) == (version + 1, "agent-2")
    else:
        assert result.status.state.value == state
        by = "agent-1" if command == "start_call" else "agent-2"
        event = assert_one_rejection(
            store, head, call_id=call_id, command=command, code=code, state=state
        )
        assert (event.version, event.fields["by"]) == (version + 1, by)
    now = service.call(call_id)
    assert (now.status.state, now.status.version, now.position) == (
        result.status.state,
        result.status.version,
        result.position,
    )


def check_new_call_cell(backend: Backend, mode: str, command: str, timing: str) -> None:
    service, store = backend.service, backend.store
    call_id = f"{mode}.new.{command}.{timing}"
    head = store.head()
    at = {"late": late(), "ancient": ancient()}.get(timing, at_ms(0))
    if command != "start_call":
        with pytest.raises(UnknownCall, match=call_id):
            service.command(call_id, Command(command), by="agent-1", at=at)
        assert_nothing_stored(store, head)
        return
    if timing in ("late", "ancient"):
        with pytest.raises(FutureTimestamp if timing == "late" else PastTimestamp):
            start(service, call_id, mode, at)
        assert_nothing_stored(store, head)
        return
    result = start(service, call_id, mode, at)
    first = model.FIRST_STATE[mode]
    expected_events = ["CallStarted"] + (["RecordingStarted"] if first == "recording" else [])
    news = stored(store, head)
    assert [s.event.type for s in news if s.event] == expected_events
    assert result.refusal is None and result.status.state.value == first
    assert (result.status.version, result.position) == (len(expected_events), store.head())


def run_table(backend: Backend, mode: str, timings: tuple[str, ...]) -> int:
    set_mode_policies(backend.service)
    cells = 0
    for timing in timings:
        for command in model.COMMANDS:
            if timing != "early":  # a new call has no last event to be early for
                check_new_call_cell(backend, mode, command, timing)
                cells += 1
            for path in model.PATHS[mode]:
                check_existing_cell(backend, mode, path, command, timing)
                cells += 1
    return cells


@pytest.mark.parametrize("mode", model.MODES)
def test_transition_table_through_the_service(
    backend: Backend, store_kind: str, mode: str
) -> None:
    timings = ALL_TIMINGS if store_kind == "sqlite" else PAST_TIMINGS
    cells = run_table(backend, mode, timings)
    paths = len(model.PATHS[mode])
    per_timing = len(model.COMMANDS) * (paths + 1)
    assert cells == per_timing * len(timings) - (len(model.COMMANDS) if "early" in timings else 0)


def test_out_of_order_beats_future_timestamp_through_the_service(
    clocked_backend: Backend, clock: FakeClock
) -> None:
    service, store = clocked_backend.service, clocked_backend.store
    set_mode_policies(service)
    start(service, "c1", "on_demand", at_ms(clock.ms + 4_000))  # within the skew
    clock.set(clock.ms - 60_000)  # the server clock steps back a minute
    head = store.head()
    # 30 s before the call started and 25 s beyond the new clock plus skew.
    result = service.command("c1", Command.START, by="agent-1", at=at_ms(clock.ms + 30_000))
    assert result.refusal is not None and result.refusal.value == "out_of_order"
    assert_one_rejection(
        store, head, call_id="c1", command="start", code="out_of_order", state="off"
    )


def test_a_refusal_answers_with_the_call_as_it_stands(backend: Backend) -> None:
    service = backend.service
    set_mode_policies(service)
    start(service, "c1", "always_on", at_ms(0))
    result = service.command("c1", Command.PAUSE, by="supervisor", at=at_ms(5))
    status = result.status
    assert (status.state.value, status.recording_no, status.mode.value) == (
        "recording",
        1,
        "always_on",
    )
    timeline = service.timeline("c1")
    assert [(r.command, r.code, r.by) for r in timeline.rejected] == [
        ("pause", "not_permitted", "supervisor")
    ]


BACKDATE_MS = 60_000


@pytest.fixture
def backdated(settings: Settings, clock: FakeClock) -> Iterator[Backend]:
    """A clocked backend on which a client time may be at most a minute behind the clock."""
    built = build(replace(settings, max_backdate=timedelta(milliseconds=BACKDATE_MS)),
                  clock=clock)
    set_mode_policies(built.service)
    yield built
    built.close()


def test_past_timestamp_on_an_existing_call_is_recorded_with_the_receive_time(
    backdated: Backend, clock: FakeClock
) -> None:
    service, store = backdated.service, backdated.store
    start(service, "c1", "on_demand", at_ms(clock.ms))
    clock.set(clock.ms + 10 * BACKDATE_MS)  # the call has outlived the bound
    head = store.head()
    claimed = at_ms(clock.ms - BACKDATE_MS - 1)  # after the call's last event, yet too old
    result = service.command("c1", Command.START, by="agent-1", at=claimed)
    assert result.refusal is not None and result.refusal.value == "past_timestamp"
    event = assert_one_rejection(store, head, call_id="c1", command="start",
                                 code="past_timestamp", state="off")
    assert (event.fields["at"], event.fields["received_at"]) == (claimed, clock())
    edge = service.command("c1", Command.START, by="agent-1", at=at_ms(clock.ms - BACKDATE_MS))
    assert edge.refusal is None  # exactly the bound is accepted


def test_out_of_order_beats_past_timestamp(backdated: Backend, clock: FakeClock) -> None:
    service, store = backdated.service, backdated.store
    start(service, "c1", "on_demand", at_ms(clock.ms))
    clock.set(clock.ms + 10 * BACKDATE_MS)
    head = store.head()
    too_early = at_ms(clock.ms - 20 * BACKDATE_MS)  # before the call started, and too old
    result = service.command("c1", Command.START, by="agent-1", at=too_early)
    assert result.refusal is not None and result.refusal.value == "out_of_order"
    assert_one_rejection(store, head, call_id="c1", command="start", code="out_of_order",
                         state="off")


def test_a_call_cannot_start_further_back_than_the_bound(backdated: Backend,
                                                        clock: FakeClock) -> None:
    head = backdated.store.head()
    with pytest.raises(PastTimestamp, match="earlier than the server clock allows"):
        start(backdated.service, "c1", "on_demand", at_ms(clock.ms - BACKDATE_MS - 1))
    assert_nothing_stored(backdated.store, head)
    with pytest.raises(UnknownCall):
        backdated.service.call("c1")
    assert start(backdated.service, "c2", "on_demand", at_ms(clock.ms - BACKDATE_MS)).refusal \
        is None


def test_every_refusal_keeps_the_server_receive_time(clocked_backend: Backend,
                                                    clock: FakeClock) -> None:
    service, store = clocked_backend.service, clocked_backend.store
    set_mode_policies(service)
    start(service, "c1", "always_on", at_ms(0))
    head = store.head()
    claimed = datetime(9999, 12, 1, tzinfo=UTC)
    assert service.command("c1", Command.PAUSE, by="agent-1").refusal is not None
    assert service.command("c1", Command.END, by="agent-1", at=claimed).refusal is not None
    rejected = [s.event.fields for s in stored(store, head) if s.event]
    assert [(f["code"], f["at"], f["received_at"]) for f in rejected] == [
        ("not_permitted", clock(), clock()), ("future_timestamp", claimed, clock())]


# -- transfers ---------------------------------------------------------------------------------

TARGETS = {"other": "agent-2", "same": "agent-1"}


def transfer_code(state: str, target: str, timing: str) -> str | None:
    code = model.transfer_code(state, "agent-1", TARGETS[target])
    if code is None and timing != "on_time":
        return {"early": "out_of_order", "late": "future_timestamp",
                "ancient": "out_of_order"}[timing]
    return code


def check_transfer_cell(backend: Backend, mode: str, path: str, target: str,
                        timing: str) -> None:
    """One transfer on a call brought to `path`: the model's answer, and only who has the
    call changes (mode, state, recording number and intervals stay); a refusal is one
    CommandRejected with command `transfer` and changes nothing else."""
    service, store = backend.service, backend.store
    call_id = f"{mode}.{path}.transfer-{target}.{timing}"
    last = bring_to(service, call_id, mode, path)
    before = service.call(call_id).status
    timeline = service.timeline(call_id)
    head = store.head()
    at = {"on_time": at_ms(last + STEP), "early": at_ms(last - 1), "late": late(),
          "ancient": ancient()}[timing]

    result = service.transfer(call_id, to_agent_id=TARGETS[target], by="sue", at=at)

    code = transfer_code(before.state.value, target, timing)
    assert (result.refusal.value if result.refusal else None) == code, (call_id, result)
    assert result.status.version == before.version + 1
    assert result.position == store.head() == head + 1
    status = result.status
    assert (status.mode, status.state, status.recording_no, status.ended_at) == (
        before.mode, before.state, before.recording_no, before.ended_at)
    after = service.timeline(call_id)
    assert (after.intervals, after.rejected[:len(timeline.rejected)]) == (
        timeline.intervals, timeline.rejected)
    if code is None:
        assert status.agent_id == "agent-2"
        [new] = stored(store, head)
        assert new.event is not None and new.event.type == "CallTransferred"
        fields = new.event.fields
        assert (fields["from_agent_id"], fields["to_agent_id"], fields["by"],
                new.event.version) == ("agent-1", "agent-2", "sue", before.version + 1)
        assert [(a.agent_id, a.end) for a in after.agents] == [("agent-1", at), ("agent-2", None)]
        assert after.agents[1].start == at
    else:
        assert status.agent_id == "agent-1"
        event = assert_one_rejection(store, head, call_id=call_id, command="transfer",
                                     code=code, state=before.state.value)
        assert event.fields["by"] == "sue"
        assert after.agents == timeline.agents
    now = service.call(call_id)
    assert (now.status, now.position) == (result.status, result.position)


@pytest.mark.parametrize("mode", model.MODES)
def test_transfer_table_through_the_service(backend: Backend, store_kind: str,
                                            mode: str) -> None:
    set_mode_policies(backend.service)
    timings = ALL_TIMINGS if store_kind == "sqlite" else PAST_TIMINGS
    for timing in timings:
        for path in model.PATHS[mode]:
            for target in TARGETS:
                check_transfer_cell(backend, mode, path, target, timing)


def test_a_transfer_of_an_unknown_call_stores_nothing(backend: Backend) -> None:
    head = backend.store.head()
    with pytest.raises(UnknownCall, match="nobody"):
        backend.service.transfer("nobody", to_agent_id="agent-2", by="sue")
    assert_nothing_stored(backend.store, head)


def test_a_transfer_keeps_the_mode_even_to_an_agent_with_another_override(
    backend: Backend,
) -> None:
    """The new agent's override does not apply: an always-on call stays always-on."""
    service = backend.service
    set_mode_policies(service)
    service.set_policy(org_for("always_on"), mode=Mode.ON_DEMAND_UIS, changed_by="admin",
                       agent_id="agent-2")
    start(service, "kept", "always_on", at_ms(0))
    result = service.transfer("kept", to_agent_id="agent-2", by="agent-1", at=at_ms(STEP))
    assert result.refusal is None
    assert (result.status.mode, result.status.state, result.status.agent_id) == (
        Mode.ALWAYS_ON, CallState.RECORDING, "agent-2")
    assert result.status.to_json(result.position)["actions"] == ["end"]
    refused = service.command("kept", Command.PAUSE, by="agent-2", at=at_ms(2 * STEP))
    assert refused.refusal is Refusal.NOT_PERMITTED
