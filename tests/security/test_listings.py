"""The listings within the token's reach: `GET /calls` and `GET /policies`.

An agent's token lists its own calls, an organisation's token its organisation, an `org=*`
token everything; naming an organisation (or, for an agent, an agent) out of reach is
403 `forbidden` and changes nothing.
"""

from __future__ import annotations

import pytest

from tests.security.helpers import Secured, error_of


@pytest.fixture
def listed(secured: Secured) -> Secured:
    for org, agent in [("acme", "bob"), ("acme", "amy"), ("globex", "gil")]:
        secured.new_call(org, agent)
    # A call bob had, now with carl: bob's token still lists it (by any agent who had it).
    handed = secured.new_call("acme", "bob")
    secured.backend.service.transfer(handed, to_agent_id="carl", by="sue")
    secured.backend.pipeline.start()
    caught_up = secured.request("auditor-all", "GET", "/calls",
                                params={"min_position": str(secured.head())})
    assert caught_up.status_code == 200, caught_up.text
    return secured


def owners(secured: Secured, who: str, **params: str) -> set[tuple[str, str]]:
    response = secured.request(who, "GET", "/calls", params=params)
    assert response.status_code == 200, response.text
    return {(c["org_id"], c["agent_id"]) for c in response.json()["calls"]}


@pytest.mark.parametrize(("who", "params", "expected"), [
    ("agent-bob", {}, {("acme", "bob"), ("acme", "carl")}),
    ("agent-bob", {"org_id": "acme", "agent_id": "bob"}, {("acme", "bob"), ("acme", "carl")}),
    ("supervisor-acme", {}, {("acme", "bob"), ("acme", "amy"), ("acme", "carl")}),
    ("supervisor-acme", {"agent_id": "amy"}, {("acme", "amy")}),
    ("supervisor-acme", {"agent_id": "carl"}, {("acme", "carl")}),
    ("auditor-acme", {}, {("acme", "bob"), ("acme", "amy"), ("acme", "carl")}),
    ("auditor-all", {}, {("acme", "bob"), ("acme", "amy"), ("acme", "carl"),
                         ("globex", "gil")}),
    ("auditor-all", {"org_id": "globex"}, {("globex", "gil")}),
])
def test_calls_listed_within_reach(listed: Secured, who: str, params: dict[str, str],
                                   expected: set[tuple[str, str]]) -> None:
    assert owners(listed, who, **params) == expected


@pytest.mark.parametrize(("who", "params", "status", "code"), [
    ("agent-bob", {"agent_id": "amy"}, 403, "forbidden"),
    ("agent-bob", {"org_id": "globex"}, 403, "forbidden"),
    ("supervisor-acme", {"org_id": "globex"}, 403, "forbidden"),
    ("auditor-acme", {"org_id": "acme", "org_id ": "x", "q": "call"}, 422, "invalid_request"),
    ("admin-all", {}, 403, "forbidden"),
    ("media-acme", {}, 403, "forbidden"),
    (None, {}, 401, "unauthenticated"),
])
def test_calls_out_of_reach_are_refused(listed: Secured, who: str | None,
                                        params: dict[str, str], status: int,
                                        code: str) -> None:
    head = listed.head()
    response = listed.request(who, "GET", "/calls", params=params)
    assert error_of(response) == (status, code)
    assert listed.head() == head, "a refusal changed the event store"


def test_a_repeated_org_id_cannot_widen_the_reach(listed: Secured) -> None:
    response = listed.http.get("/calls?org_id=acme&org_id=globex",
                               headers=listed.as_("supervisor-acme"))
    assert error_of(response) == (403, "forbidden")


def policy_orgs(secured: Secured, who: str, **params: str) -> list[str]:
    response = secured.request(who, "GET", "/policies", params=params)
    assert response.status_code == 200, response.text
    return [p["org_id"] for p in response.json()["policies"]]


def test_policies_listed_within_reach(listed: Secured) -> None:
    assert policy_orgs(listed, "supervisor-acme") == ["acme"]
    assert policy_orgs(listed, "auditor-all") == ["acme", "globex"]
    assert policy_orgs(listed, "admin-all", org_id="globex") == ["globex"]
    assert policy_orgs(listed, "admin-all", org_id="initech") == []
    for who, params in [("admin-acme", {"org_id": "globex"}), ("agent-bob", {})]:
        response = listed.request(who, "GET", "/policies", params=params)
        assert error_of(response) == (403, "forbidden")
