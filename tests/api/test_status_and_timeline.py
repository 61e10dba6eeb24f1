"""The call status and timeline JSON against the contract, and the OpenAPI document."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from recaudit.bootstrap import Backend
from recaudit.core.readmodel import PositionBeyondHead
from recaudit.core.service import DomainTimelineReader
from tests.api.client import COMMAND_PATHS, Api, current_timeline
from tests.core import model
from tests.core.helpers import at_ms, call_events, org_for, set_mode_policies

STATUS_FIELDS = {
    "call_id", "org_id", "agent_id", "mode", "state", "indicator", "actions",
    "recording_no", "pause_deadline", "legal_hold", "version", "position",
}
TIMELINE_FIELDS = {
    "call_id", "org_id", "agent_id", "mode", "started_at", "ended_at", "intervals",
    "totals", "rejected", "agents",
}
INTERVAL_FIELDS = {"state", "start", "end", "duration_ms", "recording_no", "reason", "by"}


@pytest.fixture
def ready(backend: Backend) -> Backend:
    set_mode_policies(backend.service)
    return backend


def rfc3339_ms(text: str) -> datetime:
    """Parse the contract's time format, insisting on its exact shape."""
    assert len(text) == 24 and text.endswith("Z") and text[19] == ".", text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_status(backend: Backend, body: dict, mode: str, state: str, recording_no: int) -> None:
    assert set(body) >= STATUS_FIELDS, STATUS_FIELDS - set(body)
    assert (body["mode"], body["state"]) == (mode, state)
    assert body["indicator"] == model.INDICATOR[state]
    assert body["actions"] == model.actions(mode, state)
    assert body["recording_no"] == (recording_no or None)
    events = call_events(backend.store, body["call_id"])
    assert body["version"] == events[-1].version
    assert body["position"] == events[-1].position


@pytest.mark.parametrize("mode", model.MODES)
def test_status_in_every_reachable_state(ready: Backend, api: Api, mode: str) -> None:
    for path, commands in model.PATHS[mode].items():
        call_id = f"{mode}.{path}"
        body = api.start_call(call_id, org_for(mode), at=at_ms(0)).json()
        recording_no = 1 if model.FIRST_STATE[mode] == "recording" else 0
        check_status(ready, body, mode, model.FIRST_STATE[mode], recording_no)
        for i, command in enumerate(commands, start=1):
            response = api.command(call_id, command, at=at_ms(i * 1_000))
            assert response.status_code == 200, response.text
            recording_no += command == "start"
            body = response.json()
        state = model.state_of_path(mode, path)
        check_status(ready, body, mode, state, recording_no)
        assert api.call(call_id).json() == body
        assert (body["call_id"], body["org_id"], body["agent_id"]) == (
            call_id, org_for(mode), "agent-1",
        )


def test_status_offers_exactly_the_commands_that_succeed(ready: Backend, api: Api) -> None:
    """In each state, the offered actions succeed and the others are refused."""
    for mode in model.MODES:
        for path in model.PATHS[mode]:
            offered = None
            for command in COMMAND_PATHS:
                call_id = f"{mode}.{path}.{command}"
                api.start_call(call_id, org_for(mode), at=at_ms(0))
                for i, step in enumerate(model.PATHS[mode][path], start=1):
                    api.command(call_id, step, at=at_ms(i * 1_000))
                offered = api.call(call_id).json()["actions"]
                response = api.command(call_id, command, at=at_ms(10_000))
                assert (response.status_code == 200) == (command in offered), (call_id, offered)


def test_timeline_of_a_finished_call(ready: Backend, api: Api) -> None:
    api.start_call("c1", org_for("on_demand_uis"), agent_id="agent-7", at=at_ms(0))
    script = [
        ("start", 10_000, "agent-7"), ("pause", 20_000, "agent-7"), ("resume", 25_000, "sup"),
        ("stop", 40_000, "agent-7"), ("pause", 45_000, "agent-7"), ("start", 50_000, "sup"),
        ("end", 70_000, "agent-7"), ("resume", 80_000, "agent-7"),
    ]
    for command, at, by in script:
        api.command("c1", command, at=at_ms(at), by=by)
    body = current_timeline(ready, api, "c1")

    assert set(body) == TIMELINE_FIELDS
    assert (body["call_id"], body["org_id"], body["agent_id"], body["mode"]) == (
        "c1", org_for("on_demand_uis"), "agent-7", "on_demand_uis",
    )
    assert rfc3339_ms(body["started_at"]) == at_ms(0)
    assert rfc3339_ms(body["ended_at"]) == at_ms(70_000)
    shape = [
        (i["state"], i["recording_no"], i["reason"], i["duration_ms"], i["by"])
        for i in body["intervals"]
    ]
    assert shape == [
        ("off", None, "not_started", 10_000, "agent-7"),  # opened by the call's start
        ("recording", 1, None, 10_000, "agent-7"),
        ("paused", 1, None, 5_000, "agent-7"),
        ("recording", 1, None, 15_000, "sup"),
        ("off", None, "stopped", 10_000, "agent-7"),
        ("recording", 2, None, 20_000, "sup"),
    ]
    check_contiguous(body)
    assert body["totals"] == {"recording_ms": 45_000, "paused_ms": 5_000, "off_ms": 20_000}
    assert sum(body["totals"].values()) == 70_000
    assert body["rejected"] == [
        {"command": "pause", "at": "2026-03-01T09:00:45.000Z", "code": "invalid_state",
         "by": "agent-7"},
        {"command": "resume", "at": "2026-03-01T09:01:20.000Z", "code": "call_ended",
         "by": "agent-7"},
    ]
    assert body["agents"] == [
        {"agent_id": "agent-7", "start": body["started_at"], "end": body["ended_at"]}]


def check_contiguous(body: dict) -> None:
    intervals = body["intervals"]
    assert all(set(i) == INTERVAL_FIELDS for i in intervals)
    assert intervals[0]["start"] == body["started_at"]
    for before, after in itertools.pairwise(intervals):
        assert before["end"] == after["start"], (before, after)
        assert before["state"] != after["state"] or before["recording_no"] != after[
            "recording_no"
        ]
    for interval in intervals:
        if interval["end"] is None:
            assert interval["duration_ms"] is None
            continue
        span = rfc3339_ms(interval["end"]) - rfc3339_ms(interval["start"])
        assert interval["duration_ms"] == span.total_seconds() * 1000 >= 0
    assert intervals[-1]["end"] == body["ended_at"]


def test_timeline_of_a_call_in_progress(ready: Backend, api: Api) -> None:
    api.start_call("c1", org_for("always_on"), at=at_ms(0))
    api.command("c1", "pause", at=at_ms(500))
    body = current_timeline(ready, api, "c1")
    assert body["ended_at"] is None
    assert body["intervals"] == [
        {"state": "recording", "start": "2026-03-01T09:00:00.000Z", "end": None,
         "duration_ms": None, "recording_no": 1, "reason": None, "by": "system"}
    ]
    check_contiguous(body)
    assert body["totals"] == {"recording_ms": 0, "paused_ms": 0, "off_ms": 0}
    assert body["rejected"] == [
        {"command": "pause", "at": "2026-03-01T09:00:00.500Z", "code": "not_permitted",
         "by": "agent-1"}
    ]


def test_the_reference_reader_refuses_a_position_beyond_the_head(ready: Backend,
                                                                  api: Api) -> None:
    api.start_call("c1", org_for("on_demand"), at=at_ms(0))
    head = ready.store.head()
    reference = DomainTimelineReader(ready.service)
    assert reference.timeline("c1", head) == ready.service.timeline("c1")
    with pytest.raises(PositionBeyondHead) as refused:
        reference.timeline("c1", head + 1)
    assert (refused.value.position, refused.value.head) == (head + 1, head)
    assert ready.store.head() == head


def test_times_in_other_offsets_are_stored_in_utc(ready: Backend, api: Api) -> None:
    body = {"call_id": "c1", "org_id": org_for("on_demand"), "agent_id": "a",
            "direction": "outbound", "at": "2026-03-01T11:00:00.123456+02:00"}
    assert api.http.post("/calls", json=body).status_code == 201
    timeline = current_timeline(ready, api, "c1")
    assert timeline["started_at"] == "2026-03-01T09:00:00.123Z"


def test_openapi_describes_every_route(api: Api) -> None:
    response = api.http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    expected = {
        "/policies/{org_id}": {"put", "get"},
        "/policies/{org_id}/agents/{agent_id}": {"put"},
        "/calls": {"post"},
        "/calls/{call_id}": {"get"},
        "/calls/{call_id}/timeline": {"get"},
        "/calls/{call_id}/end": {"post"},
    } | {f"/calls/{{call_id}}/recording/{c}": {"post"} for c in COMMAND_PATHS if c != "end"}
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
