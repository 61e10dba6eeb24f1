"""`GET /calls`: call summaries from the projection, newest first, in keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.rules import Mode
from recaudit.bootstrap import Backend
from tests.api.client import Api, error_of

SUMMARY_FIELDS = {
    "call_id", "org_id", "agent_id", "mode", "state", "started_at", "ended_at",
    "duration_ms", "recording_ms", "paused_ms", "off_ms", "refusals", "longest_pause_ms",
    "legal_hold",
}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def calls(sqlite_backend: Backend) -> tuple[Backend, Api, int]:
    """Calls of two organisations and three agents: one paused 7 s then ended, one with a
    refusal, plain ones; returns the position of the last event."""
    backend, api = sqlite_backend, Api(sqlite_backend.app)
    api.put_policy("acme", "pause_resume")
    api.put_policy("globex", "on_demand")
    api.put_policy("acme", "on_demand_uis", agent_id="amy")
    api.start_call("p-paused", "acme", agent_id="bob", at=at(0))
    api.command("p-paused", "pause", by="bob", at=at(10))
    api.command("p-paused", "resume", by="bob", at=at(17))
    api.command("p-paused", "end", by="bob", at=at(30))
    api.start_call("r-refused", "acme", agent_id="amy", at=at(60))
    assert api.command("r-refused", "pause", by="amy", at=at(61)).status_code == 409
    for n in range(4):
        api.start_call(f"g-{n}", "globex", agent_id="gil", at=at(120 + n))
    head = backend.store.head()
    backend.pipeline.start()
    return backend, api, head


def listed(api: Api, **params: Any) -> list[str]:
    response = api.http.get("/calls", params=params)
    assert response.status_code == 200, response.text
    return [c["call_id"] for c in response.json()["calls"]]


def test_summaries_newest_first_with_every_field(calls: tuple[Backend, Api, int]) -> None:
    _backend, api, head = calls
    body = api.http.get("/calls", params={"min_position": head}).json()
    assert set(body) == {"calls", "next"} and body["next"] is None
    assert [c["call_id"] for c in body["calls"]] == [
        "g-3", "g-2", "g-1", "g-0", "r-refused", "p-paused"]
    paused = body["calls"][-1]
    assert set(paused) == SUMMARY_FIELDS
    assert paused == {
        "call_id": "p-paused", "org_id": "acme", "agent_id": "bob", "mode": "pause_resume",
        "state": "ended", "started_at": "2026-03-01T09:00:00.000Z",
        "ended_at": "2026-03-01T09:00:30.000Z", "duration_ms": 30_000,
        "recording_ms": 23_000, "paused_ms": 7_000, "off_ms": 0, "refusals": 0,
        "longest_pause_ms": 7_000, "legal_hold": False,
    }
    refused = body["calls"][-2]
    assert (refused["mode"], refused["refusals"], refused["duration_ms"]) == (
        "on_demand_uis", 1, None)


def test_keyset_pages_cover_every_call_once(calls: tuple[Backend, Api, int]) -> None:
    _backend, api, head = calls
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4, "min_position": head}
        if after is not None:
            params["after"] = after
        body = api.http.get("/calls", params=params).json()
        seen += [c["call_id"] for c in body["calls"]]
        pages += 1
        after = body["next"]
        if after is None:
            break
    assert pages == 2
    assert seen == ["g-3", "g-2", "g-1", "g-0", "r-refused", "p-paused"]


def test_filters(calls: tuple[Backend, Api, int]) -> None:
    _backend, api, head = calls
    api.http.get("/calls", params={"min_position": head})
    assert listed(api, org_id="acme") == ["r-refused", "p-paused"]
    assert listed(api, agent_id="gil", limit=2) == ["g-3", "g-2"]
    assert listed(api, mode="pause_resume") == ["p-paused"]
    assert listed(api, state="ended") == ["p-paused"]
    assert listed(api, q="g-") == ["g-3", "g-2", "g-1", "g-0"]
    assert listed(api, refused="true") == ["r-refused"]
    assert "r-refused" not in listed(api, refused="false")
    assert listed(api, min_pause_ms=7000) == ["p-paused"]
    assert listed(api, min_pause_ms=7001) == []
    assert listed(api, **{"from": "2026-03-01T09:01:00Z", "to": "2026-03-01T11:02:02+02:00"}) \
        == ["g-1", "g-0", "r-refused"]
    assert listed(api, legal_hold="true") == []
    assert len(listed(api, legal_hold="false")) == 6


@pytest.mark.parametrize(("params", "field"), [
    ({"org_id": "bad org"}, "org_id"),
    ({"agent_id": ""}, "agent_id"),
    ({"mode": "sometimes"}, "mode"),
    ({"state": "asleep"}, "state"),
    ({"from": "2026-03-01T09:00:00"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"q": "a b"}, "q"),
    ({"refused": "maybe"}, "refused"),
    ({"min_pause_ms": "-1"}, "min_pause_ms"),
    ({"legal_hold": "perhaps"}, "legal_hold"),
    ({"after": "not-a-cursor"}, "after"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"min_position": "-3"}, "min_position"),
    ({"colour": "red"}, "colour"),
])
def test_bad_values_are_refused_naming_the_parameter(
    calls: tuple[Backend, Api, int], params: dict[str, str], field: str
) -> None:
    backend, api, head = calls
    api.http.get("/calls", params={"min_position": head})
    before = listed(api)
    response = api.http.get("/calls", params=params)
    assert error_of(response) == (422, "invalid_request")
    assert response.json()["error"]["fields"] == [field]
    assert backend.store.head() == head and listed(api) == before, "a refusal changed a store"


def test_a_new_call_is_read_with_min_position(sqlite_backend: Backend) -> None:
    api = Api(sqlite_backend.app)
    sqlite_backend.service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    sqlite_backend.pipeline.start()
    position = api.start_call("fresh", "acme").json()["position"]
    assert listed(api, min_position=position) == ["fresh"]


@pytest.fixture
def months(sqlite_backend: Backend) -> tuple[Api, list[str], int]:
    """Calls started over two years with gaps (so over many partitions of the projection):
    two a month in some months, one agent's only call in the oldest month. Returns the ids
    newest first and the position of the last event."""
    backend, api = sqlite_backend, Api(sqlite_backend.app)
    api.put_policy("acme", "on_demand")
    api.put_policy("globex", "on_demand")
    ids: list[tuple[datetime, str]] = []
    start = datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)
    for month in (0, 1, 2, 5, 6, 7, 11, 12, 13, 17, 22, 23):
        for n in range(2):
            started = start + timedelta(days=30.44 * month, seconds=n)
            call_id = f"m{month:02d}-{n}"
            api.start_call(call_id, "acme" if n else "globex",
                           agent_id="solo" if (month, n) == (0, 0) else "ann", at=started)
            ids.append((started, call_id))
    backend.pipeline.start()
    return api, [c for _, c in sorted(ids, reverse=True)], backend.store.head()


@pytest.mark.parametrize("limit", [1, 3, 5, 24])
def test_pages_read_month_by_month_give_the_same_order(
        months: tuple[Api, list[str], int], limit: int) -> None:
    api, newest_first, head = months
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, "min_position": head}
        if after is not None:
            params["after"] = after
        body = api.http.get("/calls", params=params).json()
        seen += [c["call_id"] for c in body["calls"]]
        after = body["next"]
        if after is None:
            break
    assert seen == newest_first


def test_filters_across_months(months: tuple[Api, list[str], int]) -> None:
    api, newest_first, head = months
    assert listed(api, min_position=head) == newest_first
    assert listed(api, agent_id="solo", limit=1) == ["m00-0"]
    assert listed(api, org_id="acme", limit=3) == ["m23-1", "m22-1", "m17-1"]
    assert listed(api, org_id="globex") == [c for c in newest_first if c.endswith("-0")]
    assert listed(api, **{"from": "2024-06-01T00:00:00Z", "to": "2024-12-01T00:00:00Z"}) == [
        "m07-1", "m07-0", "m06-1", "m06-0", "m05-1", "m05-0"]
    assert listed(api, **{"from": "2026-02-01T00:00:00Z"}) == []
    # m00-1 starts at the first instant of February, in the next partition
    assert listed(api, **{"to": "2024-02-01T00:00:00Z"}) == ["m00-0"]
    assert listed(api, **{"from": "2024-02-01T00:00:00Z"})[-1] == "m00-1"
    assert listed(api, q="m1") == ["m17-1", "m17-0", "m13-1", "m13-0", "m12-1", "m12-0",
                                   "m11-1", "m11-0"]
