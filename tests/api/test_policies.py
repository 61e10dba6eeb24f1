"""Policies over HTTP: versions, history, agent overrides, and calls keeping their mode."""

from __future__ import annotations

from recaudit.bootstrap import Backend
from tests.api.client import Api, current_timeline, error_of
from tests.core.helpers import assert_one_rejection, at_ms, stored

POLICY_FIELDS = {"org_id", "mode", "pause_behavior", "max_pause_ms", "version", "overrides",
                 "history", "retention"}
SETTING_FIELDS = {"mode", "pause_behavior", "max_pause_ms", "agent_id", "changed_by", "reason",
                  "at", "version"}


def test_setting_a_policy_answers_with_its_version(backend: Backend, api: Api) -> None:
    first = api.put_policy("o1", "on_demand", reason="pilot")
    assert first.status_code == 200
    body = first.json()
    assert set(body) == POLICY_FIELDS
    assert (body["org_id"], body["mode"], body["pause_behavior"]) == ("o1", "on_demand", "skip")
    assert body["overrides"] == {}
    [entry] = body["history"]
    assert set(entry) == SETTING_FIELDS
    assert (entry["changed_by"], entry["reason"], entry["agent_id"]) == ("admin", "pilot", None)
    assert entry["version"] == body["version"]

    head = backend.store.head()
    second = api.put_policy("o1", "always_on", pause_behavior="silence").json()
    assert second["version"] == body["version"] + 1
    assert (second["mode"], second["pause_behavior"]) == ("always_on", "silence")
    assert [h["mode"] for h in second["history"]] == ["on_demand", "always_on"]
    assert [s.event.type for s in stored(backend.store, head) if s.event] == ["PolicySet"]
    assert api.http.get("/policies/o1").json() == second


def test_agent_override_is_listed_and_kept_in_history(api: Api) -> None:
    api.put_policy("o1", "on_demand")
    response = api.put_policy("o1", "always_on", agent_id="a7", reason="complaints")
    assert response.status_code == 200
    override = response.json()
    assert (override["org_id"], override["agent_id"], override["mode"]) == ("o1", "a7", "always_on")
    policy = api.http.get("/policies/o1").json()
    assert override["version"] == policy["version"]
    assert policy["mode"] == "on_demand", "an override leaves the organisation's mode alone"
    assert set(policy["overrides"]) == {"a7"}
    assert policy["overrides"]["a7"]["mode"] == "always_on"
    assert [(h["agent_id"], h["mode"]) for h in policy["history"]] == [
        (None, "on_demand"),
        ("a7", "always_on"),
    ]


def test_the_agents_override_decides_the_mode_of_its_calls(api: Api) -> None:
    api.put_policy("o1", "on_demand")
    api.put_policy("o1", "pause_resume", agent_id="a7")
    own = api.start_call("c-a7", "o1", agent_id="a7").json()
    other = api.start_call("c-a8", "o1", agent_id="a8").json()
    assert (own["mode"], own["state"]) == ("pause_resume", "recording")
    assert (other["mode"], other["state"]) == ("on_demand", "off")


def test_an_override_alone_is_enough_for_that_agent(backend: Backend, api: Api) -> None:
    api.put_policy("o1", "always_on", agent_id="a7")
    assert api.http.get("/policies/o1").json()["mode"] is None
    assert api.start_call("c1", "o1", agent_id="a7").status_code == 201
    head = backend.store.head()
    assert error_of(api.start_call("c2", "o1", agent_id="a8")) == (409, "no_policy")
    assert backend.store.head() == head


def test_a_call_keeps_its_mode_when_the_policy_changes(backend: Backend, api: Api) -> None:
    api.put_policy("o1", "always_on")
    started = api.start_call("c1", "o1", at=at_ms(0)).json()
    policy_version = started["policy_version"]
    api.put_policy("o1", "on_demand_uis")
    api.put_policy("o1", "on_demand_uis", agent_id="agent-1")

    head = backend.store.head()
    response = api.command("c1", "pause", at=at_ms(1_000))
    assert error_of(response) == (409, "not_permitted")
    assert_one_rejection(
        backend.store, head, call_id="c1", command="pause", code="not_permitted",
        state="recording",
    )
    status = api.call("c1").json()
    assert (status["mode"], status["policy_version"]) == ("always_on", policy_version)
    assert current_timeline(backend, api, "c1")["mode"] == "always_on"
    newer = api.start_call("c2", "o1").json()
    assert newer["mode"] == "on_demand_uis" and newer["policy_version"] > policy_version


def test_the_started_event_records_mode_and_policy_version(backend: Backend, api: Api) -> None:
    policy = api.put_policy("o1", "pause_resume").json()
    api.start_call("c1", "o1", at=at_ms(0))
    [started] = [
        s.event for s in stored(backend.store) if s.event and s.event.type == "CallStarted"
    ]
    assert (started.fields["mode"], started.fields["policy_version"]) == (
        "pause_resume",
        policy["version"],
    )


def test_removing_an_override_is_audited_and_running_calls_keep_their_mode(
    backend: Backend, api: Api
) -> None:
    api.put_policy("o1", "on_demand")
    api.put_policy("o1", "always_on", agent_id="a7")
    assert api.start_call("running", "o1", agent_id="a7").json()["mode"] == "always_on"
    head = backend.store.head()
    response = api.http.request("DELETE", "/policies/o1/agents/a7",
                                json={"changed_by": "admin", "reason": "left the desk"})
    assert response.status_code == 200, response.text
    policy = response.json()
    assert set(policy) == POLICY_FIELDS and policy["overrides"] == {}
    removal = policy["history"][-1]
    assert removal == {"mode": None, "pause_behavior": None, "max_pause_ms": None, "agent_id": "a7",
                       "changed_by": "admin", "reason": "left the desk", "at": removal["at"],
                       "version": policy["version"], "removed": True}
    assert [s.event.type for s in stored(backend.store, head) if s.event] == [
        "PolicyOverrideRemoved"]
    assert api.http.get("/policies/o1").json() == policy
    assert api.call("running").json()["mode"] == "always_on", "a running call keeps its mode"
    assert api.start_call("next", "o1", agent_id="a7").json()["mode"] == "on_demand"


def test_removing_an_override_that_does_not_exist_is_404_and_records_nothing(
    backend: Backend, api: Api
) -> None:
    api.put_policy("o1", "on_demand")
    api.put_policy("o1", "always_on", agent_id="a7")
    head = backend.store.head()
    body = {"changed_by": "admin"}
    for path in ("/policies/o1/agents/a8", "/policies/o2/agents/a7"):
        response = api.http.request("DELETE", path, json=body)
        assert error_of(response) == (404, "unknown_override"), path
    for bad in ({}, {"changed_by": "admin", "mode": "always_on"}, {"changed_by": ""}):
        response = api.http.request("DELETE", "/policies/o1/agents/a7", json=bad)
        assert error_of(response) == (422, "invalid_request"), bad
    assert backend.store.head() == head, "a refusal changed the event store"
    assert set(api.http.get("/policies/o1").json()["overrides"]) == {"a7"}


def test_the_projection_applies_a_removal_as_a_policy_event(backend: Backend, api: Api) -> None:
    api.put_policy("o1", "on_demand")
    api.put_policy("o1", "always_on", agent_id="a7")
    api.http.request("DELETE", "/policies/o1/agents/a7", json={"changed_by": "admin"})
    backend.pipeline.start()
    response = api.http.get("/calls", params={"min_position": backend.store.head()})
    assert response.json() == {"calls": [], "next": None}, "no call was made of it"
    assert [p["org_id"] for p in api.http.get("/policies").json()["policies"]] == ["o1"]
    assert backend.projections is not None
    rows = backend.projections.read_client().query(
        "SELECT type, stream, key FROM {db:Identifier}.events FINAL ORDER BY position",
        parameters={"db": backend.projections.database}).result_rows
    assert rows[-1] == ("PolicyOverrideRemoved", "policy", "o1")


def test_a_pause_cap_is_kept_with_its_bounds_and_shown_with_the_history(
    backend: Backend, api: Api
) -> None:
    for cap in (1_000, 86_400_000, None):
        answer = api.put_policy("o1", "pause_resume", max_pause_ms=cap)
        assert answer.status_code == 200, answer.text
        assert answer.json()["max_pause_ms"] == cap
    override = api.put_policy("o1", "on_demand", agent_id="a7", max_pause_ms=30_000).json()
    assert override["max_pause_ms"] == 30_000
    policy = api.http.get("/policies/o1").json()
    assert policy["overrides"]["a7"]["max_pause_ms"] == 30_000
    assert [h["max_pause_ms"] for h in policy["history"]] == [1_000, 86_400_000, None, 30_000]
    status = api.start_call("c1", "o1", agent_id="a7").json()
    assert status["pause_deadline"] is None
    api.command("c1", "start", by="a7")
    paused = api.command("c1", "pause", by="a7").json()
    assert paused["pause_deadline"] is not None
