"""With tokens, the actor recorded is the token's name: a body naming another is refused."""

from __future__ import annotations

from tests.security import routes as r
from tests.security.helpers import Secured, error_of


def test_command_records_the_tokens_name(secured: Secured) -> None:
    call_id = secured.new_call("acme", "bob")
    answer = secured.request("supervisor-acme", "POST", f"/calls/{call_id}/recording/start",
                             json={"by": "sue"})
    assert answer.status_code == 200, answer.text
    event = r.last_event(secured)
    assert (event.type, event.fields["by"]) == ("RecordingStarted", "sue")


def test_a_refused_command_is_recorded_with_the_tokens_name(secured: Secured) -> None:
    call_id = secured.new_call("acme", "bob")
    answer = secured.request("agent-bob", "POST", f"/calls/{call_id}/recording/resume",
                             json={"by": "bob"})
    assert error_of(answer) == (409, "invalid_state")
    rejected = secured.backend.service.timeline(call_id).to_json()["rejected"]
    assert [(x["command"], x["by"]) for x in rejected] == [("resume", "bob")]


def test_command_naming_another_actor_is_refused(secured: Secured) -> None:
    call_id = secured.new_call("acme", "bob")
    head = secured.head()
    answer = secured.request("agent-bob", "POST", f"/calls/{call_id}/recording/start",
                             json={"by": "sue"})
    assert error_of(answer) == (422, "invalid_request")
    assert answer.json()["error"]["fields"] == ["by"]
    assert "'bob'" in answer.json()["error"]["message"]
    assert secured.head() == head
    assert secured.backend.service.call(call_id).status.state.value == "off"


def test_policy_change_records_the_tokens_name(secured: Secured) -> None:
    answer = secured.request("admin-acme", "PUT", "/policies/acme",
                             json={"mode": "always_on", "changed_by": "ann", "reason": "audit"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["history"][-1]["changed_by"] == "ann"
    assert r.last_event(secured).fields["changed_by"] == "ann"


def test_policy_change_naming_another_actor_is_refused(secured: Secured) -> None:
    head = secured.head()
    before = secured.backend.service.policy("acme").to_json()
    for path in ("/policies/acme", "/policies/acme/agents/bob"):
        answer = secured.request("admin-acme", "PUT", path,
                                 json={"mode": "always_on", "changed_by": "root"})
        assert error_of(answer) == (422, "invalid_request")
        assert answer.json()["error"]["fields"] == ["changed_by"]
    assert secured.head() == head
    assert secured.backend.service.policy("acme").to_json() == before


def test_a_missing_actor_is_still_a_validation_error(secured: Secured) -> None:
    call_id = secured.new_call("acme", "bob")
    head = secured.head()
    answer = secured.request("agent-bob", "POST", f"/calls/{call_id}/end", json={})
    assert error_of(answer) == (422, "invalid_request")
    assert answer.json()["error"]["fields"] == ["by"]
    assert secured.head() == head
