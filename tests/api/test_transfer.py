"""`POST /calls/{call_id}/transfer`: only who has the call changes; refusals are stored like
any refused command; malformed requests store nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recaudit.bootstrap import Backend
from tests.api.client import Api, current_timeline, error_of
from tests.core.helpers import (
    assert_nothing_stored,
    assert_one_rejection,
    at_ms,
    org_for,
    set_mode_policies,
    stored,
)


@pytest.fixture
def ready(backend: Backend) -> Backend:
    set_mode_policies(backend.service)
    return backend


def paused_call(api: Api, call_id: str = "c1") -> dict:
    """An on_demand_uis call recording since 1 s and paused since 2 s, by agent-1."""
    api.start_call(call_id, org_for("on_demand_uis"), at=at_ms(0))
    api.command(call_id, "start", at=at_ms(1_000))
    return api.command(call_id, "pause", at=at_ms(2_000)).json()


def test_a_transfer_changes_only_who_has_the_call(ready: Backend, api: Api) -> None:
    before = paused_call(api)
    head = ready.store.head()
    response = api.transfer("c1", "agent-2", by="sue", at=at_ms(3_000), command_id="t1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent_id"] == "agent-2"
    unchanged = ("mode", "state", "indicator", "actions", "recording_no", "started_at",
                 "ended_at", "org_id", "direction", "pause_behavior", "policy_version")
    assert {k: body[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert (body["version"], body["position"]) == (before["version"] + 1, head + 1)
    [new] = stored(ready.store, head)
    assert new.event is not None and new.event.type == "CallTransferred"
    assert {k: new.event.fields[k] for k in ("from_agent_id", "to_agent_id", "by",
                                             "command_id")} == {
        "from_agent_id": "agent-1", "to_agent_id": "agent-2", "by": "sue", "command_id": "t1"}
    assert api.call("c1").json() == body

    # The pause goes on under the new agent, who resumes it and ends the call.
    assert api.command("c1", "resume", by="agent-2", at=at_ms(4_000)).status_code == 200
    api.transfer("c1", "agent-3", by="agent-2", at=at_ms(5_000))
    api.command("c1", "end", by="agent-3", at=at_ms(6_000))
    timeline = current_timeline(ready, api, "c1")  # the projection equals the domain's
    assert timeline["agent_id"] == "agent-3"
    assert [(i["state"], i["start"], i["end"]) for i in timeline["intervals"]] == [
        ("off", *iso(0, 1_000)), ("recording", *iso(1_000, 2_000)),
        ("paused", *iso(2_000, 4_000)), ("recording", *iso(4_000, 6_000))]
    assert timeline["agents"] == [
        {"agent_id": "agent-1", "start": iso(0)[0], "end": iso(3_000)[0]},
        {"agent_id": "agent-2", "start": iso(3_000)[0], "end": iso(5_000)[0]},
        {"agent_id": "agent-3", "start": iso(5_000)[0], "end": iso(6_000)[0]},
    ]


def iso(*ms: int) -> tuple[str, ...]:
    return tuple(at_ms(m).isoformat(timespec="milliseconds").replace("+00:00", "Z") for m in ms)


@pytest.mark.parametrize(("case", "code"), [
    ("ended", "call_ended"), ("same_agent", "invalid_state"), ("early", "out_of_order"),
    ("future", "future_timestamp"),
])
def test_a_refused_transfer_is_answered_and_recorded(ready: Backend, api: Api, case: str,
                                                     code: str) -> None:
    before = paused_call(api)
    if case == "ended":
        before = api.command("c1", "end", at=at_ms(2_500)).json()
    to = "agent-1" if case == "same_agent" else "agent-2"
    later = datetime.now(UTC) + timedelta(hours=1)
    at = {"early": at_ms(1_500), "future": later}.get(case, at_ms(3_000))
    head = ready.store.head()

    response = api.transfer("c1", to, by="sue", at=at)

    assert error_of(response) == (409, code)
    error = response.json()["error"]
    if case == "same_agent":
        assert "already with agent 'agent-1'" in error["message"]
    call = error["call"]
    assert call["agent_id"] == "agent-1" and call["state"] == before["state"]
    assert call["version"] == before["version"] + 1
    assert_one_rejection(ready.store, head, call_id="c1", command="transfer", code=code,
                         state=before["state"])
    timeline = current_timeline(ready, api, "c1")
    assert timeline["rejected"][-1]["command"] == "transfer"
    assert [a["agent_id"] for a in timeline["agents"]] == ["agent-1"]


@pytest.mark.parametrize("body", [
    {"by": "sue"},  # no target
    {"to_agent_id": "bad agent", "by": "sue"},
    {"to_agent_id": "", "by": "sue"},
    {"to_agent_id": "agent-2", "by": "sue\u202e"},
    {"to_agent_id": "agent-2"},
    {"to_agent_id": "agent-2", "by": "sue", "at": "2026-03-01T09:00:03"},
    {"to_agent_id": "agent-2", "by": "sue", "reason": "lunch"},
])
def test_a_malformed_transfer_stores_nothing(ready: Backend, api: Api, body: dict) -> None:
    paused_call(api)
    head = ready.store.head()
    response = api.http.post("/calls/c1/transfer", json=body)
    assert error_of(response) == (422, "invalid_request")
    assert response.json()["error"]["fields"]
    assert_nothing_stored(ready.store, head)
    assert api.call("c1").json()["agent_id"] == "agent-1"


def test_a_transfer_of_an_unknown_call_is_404_and_stores_nothing(ready: Backend,
                                                                api: Api) -> None:
    head = ready.store.head()
    assert error_of(api.transfer("nobody", "agent-2", by="sue")) == (404, "unknown_call")
    assert_nothing_stored(ready.store, head)


def test_a_repeated_transfer_replays_and_another_target_conflicts(ready: Backend,
                                                                  api: Api) -> None:
    paused_call(api)
    first = api.transfer("c1", "agent-2", by="sue", at=at_ms(3_000), command_id="t1")
    head = ready.store.head()
    again = api.transfer("c1", "agent-2", by="sue", at=at_ms(3_000), command_id="t1")
    assert (again.status_code, again.json()) == (200, first.json())
    other = api.transfer("c1", "agent-3", by="sue", at=at_ms(3_000), command_id="t1")
    assert error_of(other) == (409, "idempotency_conflict")
    assert_nothing_stored(ready.store, head)


def test_the_list_of_calls_finds_a_call_by_any_agent_who_had_it(ready: Backend,
                                                                api: Api) -> None:
    paused_call(api, "moved")
    api.start_call("stayed", org_for("on_demand_uis"), agent_id="agent-3", at=at_ms(500))
    api.transfer("moved", "agent-2", by="sue", at=at_ms(3_000))
    ready.pipeline.start()
    head = ready.store.head()

    def listed(agent: str) -> list[tuple[str, str]]:
        response = api.http.get("/calls", params={"agent_id": agent, "min_position": head})
        assert response.status_code == 200, response.text
        return [(c["call_id"], c["agent_id"]) for c in response.json()["calls"]]

    assert listed("agent-1") == [("moved", "agent-2")]
    assert listed("agent-2") == [("moved", "agent-2")]
    assert listed("agent-3") == [("stayed", "agent-3")]
