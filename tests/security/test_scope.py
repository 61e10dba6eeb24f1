"""Calls outside a token's reach answer like calls that do not exist, and are never touched."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.rules import Mode
from tests.security.conftest import BackendFactory
from tests.security.helpers import Secured, TestClient, Tokens, error_of


def test_a_foreign_call_answers_exactly_like_an_unknown_one(secured: Secured) -> None:
    foreign = secured.new_call("globex", "gil")
    for path in ("", "/timeline", "/recordings", "/recordings/1.wav"):
        seen = secured.request("supervisor-acme", "GET", f"/calls/{foreign}{path}")
        unknown = secured.request("supervisor-acme", "GET", f"/calls/no-such-call{path}")
        assert error_of(seen) == error_of(unknown) == (404, "unknown_call")
        assert seen.json()["error"]["message"].replace(foreign, "X") == \
            unknown.json()["error"]["message"].replace("no-such-call", "X")


def test_commands_on_a_foreign_call_record_nothing(secured: Secured) -> None:
    foreign = secured.new_call("globex", "gil")
    head = secured.head()
    for command in ("recording/start", "recording/pause", "recording/resume",
                    "recording/stop", "end"):
        answer = secured.request("supervisor-acme", "POST", f"/calls/{foreign}/{command}",
                                 json={"by": "sue"})
        assert error_of(answer) == (404, "unknown_call")
    assert secured.head() == head  # not even a CommandRejected on the other org's call
    assert secured.backend.service.timeline(foreign).to_json()["rejected"] == []


def test_starting_a_call_with_a_foreign_call_id_records_nothing(secured: Secured) -> None:
    foreign = secured.new_call("globex", "gil")
    head = secured.head()
    answer = secured.request("supervisor-acme", "POST", "/calls", json={
        "call_id": foreign, "org_id": "acme", "agent_id": "amy", "direction": "inbound"})
    assert error_of(answer) == (409, "call_id_taken")
    assert "globex" not in answer.text and "gil" not in answer.text
    assert secured.head() == head
    status = secured.backend.service.call(foreign).status
    assert (status.org_id, status.agent_id) == ("globex", "gil")


def test_concurrent_starts_with_a_foreign_call_id_record_nothing(secured: Secured) -> None:
    """Ten at once, some racing the gate's look-up of the call: the same answer for all."""
    foreign = secured.new_call("globex", "gil")
    head = secured.head()
    body = {"call_id": foreign, "org_id": "acme", "agent_id": "amy", "direction": "inbound"}
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(
            lambda _: secured.request("supervisor-acme", "POST", "/calls", json=body),
            range(10)))
    assert [error_of(a) for a in answers] == [(409, "call_id_taken")] * 10
    assert not any("globex" in a.text or "gil" in a.text for a in answers)
    assert secured.head() == head
    assert secured.backend.service.timeline(foreign).to_json()["rejected"] == []


def test_an_own_call_id_reused_is_the_usual_refusal(secured: Secured) -> None:
    """Within reach, starting an existing call is refused by the rules (and recorded)."""
    own = secured.new_call("acme", "amy")
    head = secured.head()
    answer = secured.request("supervisor-acme", "POST", "/calls", json={
        "call_id": own, "org_id": "acme", "agent_id": "amy", "direction": "inbound"})
    assert error_of(answer) == (409, "invalid_state")
    assert secured.head() == head + 1


def test_an_agent_may_not_reach_a_colleagues_call(secured: Secured) -> None:
    colleague = secured.new_call("acme", "amy")
    head = secured.head()
    answer = secured.request("agent-bob", "POST", f"/calls/{colleague}/end", json={"by": "bob"})
    assert error_of(answer) == (404, "unknown_call")
    assert secured.head() == head
    answer = secured.request("agent-amy", "POST", f"/calls/{colleague}/end", json={"by": "amy"})
    assert answer.status_code == 200, answer.text


def test_an_invalid_call_id_is_refused_by_validation_not_looked_up(secured: Secured) -> None:
    head = secured.head()
    answer = secured.request("supervisor-acme", "GET", "/calls/bad%20id")
    assert error_of(answer) == (422, "invalid_request")
    assert secured.head() == head


@pytest.mark.postgres
def test_reach_is_decided_on_postgresql_too(make_backend: BackendFactory,
                                            postgres_url: str) -> None:
    tokens = Tokens.issue()
    backend = make_backend({"RECAUDIT_TOKENS": tokens.config()}, postgres_url=postgres_url)
    backend.service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="setup")
    backend.service.set_policy("globex", mode=Mode.ON_DEMAND, changed_by="setup")
    secured = Secured(backend, tokens, TestClient(backend.app))
    own, foreign = secured.new_call("acme", "bob"), secured.new_call("globex", "gil")
    head = secured.head()
    answer = secured.request("supervisor-acme", "POST", f"/calls/{foreign}/end",
                             json={"by": "sue"})
    assert error_of(answer) == (404, "unknown_call")
    assert secured.head() == head
    answer = secured.request("supervisor-acme", "POST", f"/calls/{own}/end", json={"by": "sue"})
    assert answer.status_code == 200, answer.text
    assert secured.head() == head + 1


def test_a_transfer_moves_who_may_send_commands_at_once(secured: Secured) -> None:
    """Bob's token reaches his call; once it is transferred to amy (over HTTP, by bob), his
    commands are 403 and store nothing, amy's are accepted, and bob may still read it."""
    call = secured.new_call("acme", "bob")
    assert secured.request("agent-bob", "POST", f"/calls/{call}/recording/start",
                           json={"by": "bob"}).status_code == 200
    moved = secured.request("agent-bob", "POST", f"/calls/{call}/transfer",
                            json={"to_agent_id": "amy", "by": "bob"})
    assert moved.status_code == 200 and moved.json()["agent_id"] == "amy", moved.text
    head = secured.head()
    for path in ("recording/pause", "end", "transfer"):
        body = {"by": "bob"} | ({"to_agent_id": "bob"} if path == "transfer" else {})
        answer = secured.request("agent-bob", "POST", f"/calls/{call}/{path}", json=body)
        assert error_of(answer) == (403, "forbidden")
        assert "transferred" in answer.json()["error"]["message"]
    assert secured.head() == head, "a former agent's command stored something"
    assert secured.request("agent-bob", "GET", f"/calls/{call}").json()["agent_id"] == "amy"
    answer = secured.request("agent-amy", "POST", f"/calls/{call}/recording/pause",
                             json={"by": "amy"})
    assert answer.status_code == 200, answer.text


def test_a_former_agent_restarting_the_call_is_forbidden(secured: Secured) -> None:
    call = secured.new_call("acme", "bob")
    secured.backend.service.transfer(call, to_agent_id="amy", by="sue")
    head = secured.head()
    answer = secured.request("agent-bob", "POST", "/calls", json={
        "call_id": call, "org_id": "acme", "agent_id": "bob", "direction": "inbound"})
    assert error_of(answer) == (403, "forbidden")
    assert secured.head() == head
    answer = secured.request("agent-amy", "POST", "/calls", json={
        "call_id": call, "org_id": "acme", "agent_id": "amy", "direction": "inbound"})
    assert error_of(answer) == (409, "invalid_state")  # the usual refusal, recorded
    assert secured.head() == head + 1
