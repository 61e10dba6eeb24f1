"""The compliance lifecycle in the projection: its events in `events` with every field,
the analyst queries on them against the event store's answer, and the list of calls'
`legal_hold`, computed from the active holds."""

from __future__ import annotations

import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from domain.lifecycle import DeletionReason, ReadKind
from domain.published import FIELDS, PublishedEvent
from domain.rules import Command, Mode
from projections import queries
from projections.rows import EVENT_COLUMNS
from projections.utc import aware
from recaudit.bootstrap import Backend
from tests.lifecycle_events import LIFECYCLE_TYPES, recorded_call, wait_written
from tests.projections.helpers import caught_up, published

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.clickhouse

TODAY = datetime.now(UTC).date()
WEEK = {"from_day": TODAY - timedelta(days=7), "to_day": TODAY + timedelta(days=1)}


def lifecycle_events(backend: Backend) -> list[PublishedEvent]:
    return [e for e in published(backend.store) if e.type in LIFECYCLE_TYPES]


def run(backend: Backend, query: queries.AnalystQuery, **params: Any) -> list[dict[str, Any]]:
    assert backend.projections is not None
    return queries.run(backend.projections.read_client(), backend.projections.database, query,
                       **params)


def test_every_field_of_the_lifecycle_events_is_a_column(lifecycle_backend: Backend,
                                                         ch_client: Client,
                                                         ch_database: str) -> None:
    caught_up(lifecycle_backend)
    expected = lifecycle_events(lifecycle_backend)
    assert {e.type for e in expected} == set(LIFECYCLE_TYPES)
    rows = ch_client.query(
        "SELECT * FROM {db:Identifier}.events FINAL WHERE type IN {types:Array(String)} "
        "ORDER BY position",
        parameters={"db": ch_database, "types": list(LIFECYCLE_TYPES)}).named_results()
    for row, event in zip(rows, expected, strict=True):
        assert (row["position"], row["key"], row["version"]) == (event.position, event.key,
                                                                 event.version)
        for name in FIELDS[event.type]:
            assert name in EVENT_COLUMNS, f"{event.type}.{name} has no column"
            value = aware(row[name]) if name == "at" else row[name]
            assert value == event.fields[name], (event.type, name)
    # A deletion carries its call's agent and mode, like every call event.
    deleted = ch_client.query(
        "SELECT key, agent_id, mode FROM {db:Identifier}.events FINAL "
        "WHERE type = 'RecordingDeleted' ORDER BY key", parameters={"db": ch_database})
    assert deleted.result_rows == [("life-erased", "ann", "on_demand"),
                                   ("life-silent", "ann", "on_demand")]


def test_recordings_deleted_per_org_and_reason(lifecycle_backend: Backend) -> None:
    service, compliance = lifecycle_backend.service, lifecycle_backend.compliance
    assert compliance is not None
    # Another organisation, with two erasures: counted apart.
    service.set_policy("org-other", mode=Mode.ON_DEMAND, changed_by="admin")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for n in range(2):
        recorded_call(lifecycle_backend, f"other-{n}", "org-other", "eve", start=start,
                      audio=False)
        wait_written(lifecycle_backend, f"other-{n}")
        compliance.delete_recording(f"other-{n}", 1, by="admin", reason=DeletionReason.ERASURE)
    caught_up(lifecycle_backend)
    expected = Counter((e.fields["org_id"], e.fields["reason"], e.at.date())
                       for e in lifecycle_events(lifecycle_backend)
                       if e.type == "RecordingDeleted")
    assert sum(expected.values()) == 4
    rows = run(lifecycle_backend, queries.RECORDINGS_DELETED, **WEEK)
    assert {(r["org_id"], r["reason"], r["day"]): r["deleted"] for r in rows} == expected
    none = run(lifecycle_backend, queries.RECORDINGS_DELETED,
               from_day=TODAY - timedelta(days=30), to_day=TODAY - timedelta(days=8))
    assert none == []


def test_active_holds_are_the_placed_ones_not_released(lifecycle_backend: Backend) -> None:
    compliance = lifecycle_backend.compliance
    assert compliance is not None
    caught_up(lifecycle_backend)
    active = compliance.holds("org-life", active=True)
    assert len(active) == 2 and len(compliance.holds("org-life")) == 3
    rows = run(lifecycle_backend, queries.ACTIVE_HOLDS)
    assert [(r["org_id"], r["hold_id"], r["scope"], r["call_id"], r["agent_id"], r["case"],
             r["placed_by"], r["placed_at"]) for r in rows] == [
        (h.org_id, h.hold_id, "call" if h.call_id else "agent", h.call_id, h.agent_id,
         h.case, h.placed_by, h.placed_at.replace(microsecond=h.placed_at.microsecond
                                                  // 1000 * 1000))
        for h in active]
    compliance.release_hold(active[0].hold_id, by="auditor")
    caught_up(lifecycle_backend)
    assert [r["hold_id"] for r in run(lifecycle_backend, queries.ACTIVE_HOLDS)] == [
        active[1].hold_id]


def reads_by_day(events: list[PublishedEvent], calls: set[str]) -> Counter[tuple[Any, ...]]:
    return Counter((e.at.date(), e.fields["by"], e.fields["role"], e.fields["what"])
                   for e in events if e.type == "RecordAccessed" and e.key in calls)


def test_who_read_a_call_per_day(lifecycle_backend: Backend) -> None:
    caught_up(lifecycle_backend)
    events = lifecycle_events(lifecycle_backend)
    for call_id in ("life-erased", "life-held", "life-silent"):
        rows = run(lifecycle_backend, queries.ACCESSES_OF_CALL, call_id=call_id)
        got = {(r["day"], r["by"], r["role"], r["what"]): r["reads"] for r in rows}
        assert got == reads_by_day(events, {call_id}), call_id
    assert run(lifecycle_backend, queries.ACCESSES_OF_CALL, call_id="life-silent") == []


def test_who_read_an_agents_calls_per_day(lifecycle_backend: Backend) -> None:
    service, compliance = lifecycle_backend.service, lifecycle_backend.compliance
    assert compliance is not None
    # A call bob handed to cat: its reads count for both agents.
    service.start_call(call_id="handed", org_id="org-life", agent_id="bob",
                       direction="inbound")
    service.transfer("handed", to_agent_id="cat", by="bob")
    for _ in range(2):
        compliance.record_access("handed", ReadKind.TIMELINE, by="ivy", role="auditor")
    caught_up(lifecycle_backend)
    events = lifecycle_events(lifecycle_backend)
    for agent, calls in {"ann": {"life-erased", "life-silent"},
                         "bob": {"life-held", "handed"}, "cat": {"handed"}}.items():
        rows = run(lifecycle_backend, queries.ACCESSES_OF_AGENT, agent_id=agent, **WEEK)
        got = {(r["day"], r["by"], r["role"], r["what"]): r["reads"] for r in rows}
        assert got == reads_by_day(events, calls), agent
        assert all(r["org_id"] == "org-life" for r in rows)
    rows = run(lifecycle_backend, queries.ACCESSES_OF_AGENT, agent_id="cat", **WEEK)
    assert [(r["what"], r["reads"], r["calls"]) for r in rows] == [("timeline", 2, 1)]
    assert run(lifecycle_backend, queries.ACCESSES_OF_AGENT, agent_id="nobody", **WEEK) == []


# -- the list of calls' legal_hold -------------------------------------------------------


def listed(http: TestClient, **params: Any) -> dict[str, bool]:
    answer = http.get("/calls", params={"limit": 200, **params})
    assert answer.status_code == 200, answer.text
    return {c["call_id"]: c["legal_hold"] for c in answer.json()["calls"]}


def held_by_domain(backend: Backend, call_ids: list[str]) -> dict[str, bool]:
    held = {}
    for call_id in call_ids:
        call = backend.store.call(call_id)
        assert call is not None
        policy = backend.store.policy(call.org_id)
        held[call_id] = bool(policy and policy.holds_on(call_id, call.holders))
    return held


def more_holds(backend: Backend) -> list[str]:
    """A whole organisation on hold; an agent on hold who handed a call on; an agent of the
    same name in another organisation, not on hold."""
    service, compliance = backend.service, backend.compliance
    assert compliance is not None
    service.set_policy("org-wide", mode=Mode.ON_DEMAND, changed_by="admin")
    service.set_policy("org-agents", mode=Mode.ON_DEMAND, changed_by="admin")
    calls = [("w-1", "org-wide", "ann"), ("w-2", "org-wide", "zed"),
             ("a-1", "org-agents", "dan"), ("a-2", "org-agents", "eve"),
             ("a-3", "org-agents", "bob")]
    for call_id, org_id, agent in calls:
        service.start_call(call_id=call_id, org_id=org_id, agent_id=agent,
                           direction="inbound")
    service.transfer("a-1", to_agent_id="eve", by="dan")
    service.command("a-1", Command.END, by="eve")
    compliance.place_hold("org-wide", call_id=None, agent_id=None, case="audit", by="auditor")
    compliance.place_hold("org-agents", call_id=None, agent_id="dan", case="c-9",
                          by="auditor")
    return [call_id for call_id, _, _ in calls]


def test_the_list_of_calls_says_which_calls_are_on_hold(lifecycle_backend: Backend) -> None:
    backend = lifecycle_backend
    ids = ["life-erased", "life-silent", "life-held", *more_holds(backend)]
    caught_up(backend)
    expected = held_by_domain(backend, ids)
    assert expected == {"life-erased": False, "life-silent": False, "life-held": True,
                        "w-1": True, "w-2": True, "a-1": True, "a-2": False, "a-3": False}
    http = TestClient(backend.app)
    assert listed(http) == expected
    assert listed(http, legal_hold="true") == {k: v for k, v in expected.items() if v}
    assert listed(http, legal_hold="false") == {k: v for k, v in expected.items() if not v}
    assert listed(http, org_id="org-agents", legal_hold="true") == {"a-1": True}
    assert listed(http, agent_id="eve", legal_hold="true") == {"a-1": True}
    # Released, the holds no longer count; the call and agent holds of org-life remain.
    compliance = backend.compliance
    assert compliance is not None
    for org_id in ("org-wide", "org-agents"):
        for hold in compliance.holds(org_id, active=True):
            compliance.release_hold(hold.hold_id, by="auditor")
    caught_up(backend)
    assert listed(http, legal_hold="true") == {"life-held": True}
    assert held_by_domain(backend, ids) == listed(http)


def test_an_unknown_legal_hold_value_is_refused(lifecycle_backend: Backend) -> None:
    http = TestClient(lifecycle_backend.app)
    answer = http.get("/calls", params={"legal_hold": "maybe"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and "legal_hold" in error["message"]


def test_the_lifecycle_queries_through_the_server(lifecycle_backend: Backend) -> None:
    """`GET /analytics/{name}` answers the same rows; bad parameters are refused, naming
    them, and change nothing (running a query records no read)."""
    caught_up(lifecycle_backend)
    http = TestClient(lifecycle_backend.app)
    week = {k: v.isoformat() for k, v in WEEK.items()}
    asked: dict[queries.AnalystQuery, dict[str, str]] = {
        queries.RECORDINGS_DELETED: week,
        queries.ACTIVE_HOLDS: {},
        queries.ACCESSES_OF_CALL: {"call_id": "life-erased"},
        queries.ACCESSES_OF_AGENT: {"agent_id": "ann", **week},
    }
    head = lifecycle_backend.store.head()
    for query, params in asked.items():
        answer = http.get(f"/analytics/{query.name}", params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        typed = {k: WEEK.get(k, v) for k, v in params.items()}
        rows = run(lifecycle_backend, query, **typed)
        assert len(body["rows"]) == len(rows) > 0, query.name
        assert body["columns"] == list(rows[0])
    for name, params, fields in [
        ("accesses_of_agent", week, ["agent_id"]),
        ("accesses_of_call", {"call_id": "c 1"}, ["call_id"]),
        ("recordings_deleted", {"from_day": "yesterday", "to_day": week["to_day"]},
         ["from_day"]),
        ("active_holds", {"org_id": "org-life"}, ["org_id"]),
    ]:
        answer = http.get(f"/analytics/{name}", params=params)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "invalid_request"
        assert answer.json()["error"]["fields"] == fields
    assert lifecycle_backend.store.head() == head


def test_an_erasure_during_the_call_changes_no_interval(lifecycle_backend: Backend) -> None:
    """A stopped recording erased while its call goes on: the projection's timeline stays the
    domain's, and the call's later events still apply (the deletion took a call version)."""
    backend = lifecycle_backend
    service, compliance, desk = backend.service, backend.compliance, backend.segments
    assert compliance is not None and desk is not None
    service.set_policy("org-uis", mode=Mode.ON_DEMAND_UIS, changed_by="admin")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    service.start_call(call_id="mid", org_id="org-uis", agent_id="ann", direction="inbound",
                       at=start)
    service.command("mid", Command.START, by="ann", at=start + timedelta(seconds=1))
    desk.ingest("mid", start + timedelta(seconds=1), 8000, b"\x01\x00" * 8000)
    service.command("mid", Command.STOP, by="ann", at=start + timedelta(seconds=3))
    wait_written(backend, "mid")
    compliance.delete_recording("mid", 1, by="admin", reason=DeletionReason.ERASURE)
    service.command("mid", Command.START, by="ann", at=start + timedelta(seconds=5))
    service.command("mid", Command.END, by="ann", at=start + timedelta(seconds=9))
    caught_up(backend)
    assert backend.projections is not None
    projected = backend.projections.reader.timeline("mid")
    assert projected.to_json() == service.timeline("mid").to_json()
    kinds = [e.type for e in published(backend.store) if e.key == "mid"]
    assert kinds[kinds.index("RecordingDeleted") + 1:] == ["RecordingStarted", "CallEnded"]
