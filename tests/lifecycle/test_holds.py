"""Legal holds: placed on a call, an agent's calls or an organisation, and released."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lifecycle.rig import Rig, days_ago


@pytest.fixture
def org(rig: Rig) -> Rig:
    rig.policy("acme")
    rig.policy("globex")
    rig.recorded_call("c1", "acme", start=days_ago(1), agent_id="bob")
    rig.recorded_call("c2", "acme", start=days_ago(1), agent_id="amy")
    rig.recorded_call("g1", "globex", start=days_ago(1), agent_id="bob")
    return rig


def held(rig: Rig) -> dict[str, bool]:
    return {c: rig.http.get(f"/calls/{c}").json()["legal_hold"] for c in ("c1", "c2", "g1")}


@pytest.mark.parametrize(("scope", "expected"), [
    ({"call_id": "c1"}, {"c1": True, "c2": False, "g1": False}),
    ({"agent_id": "amy"}, {"c1": False, "c2": True, "g1": False}),
    ({}, {"c1": True, "c2": True, "g1": False}),
])
def test_a_hold_covers_its_scope_until_released(org: Rig, scope: dict[str, str],
                                                expected: dict[str, bool]) -> None:
    assert held(org) == {"c1": False, "c2": False, "g1": False}
    placed = org.post("/legal-holds", org_id="acme", case="matter 42", by="aud",
                      reason="litigation", **scope)
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert (hold["org_id"], hold["case"], hold["placed_by"], hold["active"]) == (
        "acme", "matter 42", "aud", True)
    assert hold["call_id"] == scope.get("call_id") and hold["agent_id"] == scope.get("agent_id")
    assert held(org) == expected
    listed = org.http.get("/legal-holds", params={"org_id": "acme", "active": "true"}).json()
    assert [h["hold_id"] for h in listed] == [hold["hold_id"]]
    released = org.post(f"/legal-holds/{hold['hold_id']}/release", by="aud")
    assert released.status_code == 200
    assert released.json()["released_at"] is not None
    assert held(org) == {"c1": False, "c2": False, "g1": False}
    assert org.http.get("/legal-holds", params={"org_id": "acme", "active": "true"}).json() == []
    everything = org.http.get("/legal-holds", params={"org_id": "acme"}).json()
    assert [h["active"] for h in everything] == [False]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"org_id": "acme", "call_id": "g1"}, 404, "unknown_call"),
    ({"org_id": "acme", "call_id": "nope"}, 404, "unknown_call"),
    ({"org_id": "nobody"}, 409, "no_policy"),
    ({"org_id": "acme", "call_id": "c1", "agent_id": "bob"}, 422, "invalid_request"),
    ({"org_id": "acme", "case": ""}, 422, "invalid_request"),
    ({"org_id": "acme", "case": "a\x00b"}, 422, "invalid_request"),
    ({"org_id": "acme", "by": ""}, 422, "invalid_request"),
])
def test_refused_holds_change_nothing(org: Rig, body: dict[str, Any], status: int,
                                      code: str) -> None:
    before = org.backend.store.head()
    answer = org.post("/legal-holds", **({"case": "c", "by": "aud"} | body))
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert org.backend.store.head() == before


def test_releasing_twice_or_an_unknown_hold_is_refused(org: Rig) -> None:
    hold = org.post("/legal-holds", org_id="acme", case="c", by="aud").json()
    assert org.post(f"/legal-holds/{hold['hold_id']}/release", by="aud").status_code == 200
    before = org.backend.store.head()
    for hold_id, status, code in ((hold["hold_id"], 409, "hold_released"),
                                  ("acme:hold-9", 404, "unknown_hold"),
                                  ("nonsense", 404, "unknown_hold"),
                                  ("nobody:hold-1", 404, "unknown_hold")):
        answer = org.post(f"/legal-holds/{hold_id}/release", by="aud")
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert org.backend.store.head() == before
