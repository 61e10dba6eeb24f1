"""Bad input to the timeline endpoint: clear errors, and nothing changes anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from domain.rules import Command
from recaudit.bootstrap import Backend
from recaudit.http.server import BackgroundServer
from tests.projections.helpers import (
    caught_up,
    play_scenarios,
    projections_of,
    set_policies,
    snapshot,
)

pytestmark = pytest.mark.clickhouse


@pytest.fixture
def http(ch_backend: Backend) -> Iterator[httpx.Client]:
    set_policies(ch_backend.service)
    play_scenarios(ch_backend.service, 4, seed=31)
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    with BackgroundServer(ch_backend.app) as server, httpx.Client(base_url=server.url,
                                                                   timeout=30) as client:
        yield client


@pytest.fixture
def unchanged(http: httpx.Client, ch_backend: Backend, ch_client: Client,
              ch_database: str) -> Iterator[None]:
    """Checks, after the test, that neither the event store nor ClickHouse changed."""
    head = ch_backend.store.head()
    tables = snapshot(ch_client, ch_database)
    yield
    assert ch_backend.store.head() == head
    assert snapshot(ch_client, ch_database) == tables


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    return str(body["error"]["message"])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("min_position", [None, "0", "3"])
def test_an_unknown_call_is_404(http: httpx.Client, min_position: str | None) -> None:
    params = {} if min_position is None else {"min_position": min_position}
    message = error_of(http.get("/calls/no-such-call/timeline", params=params),
                       404, "unknown_call")
    assert "no-such-call" in message


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", ""])
def test_a_bad_min_position_is_422(http: httpx.Client, bad: str) -> None:
    response = http.get("/calls/s31-0/timeline", params={"min_position": bad})
    message = error_of(response, 422, "invalid_request")
    assert response.json()["error"]["fields"] == ["min_position"]
    assert message.startswith("min_position:")


@pytest.mark.usefixtures("unchanged")
def test_a_bad_call_id_is_422(http: httpx.Client) -> None:
    error_of(http.get("/calls/%20bad%20id/timeline"), 422, "invalid_request")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("beyond", [1, 1000])
def test_a_position_beyond_the_head_is_409_at_once(ch_backend: Backend, http: httpx.Client,
                                                   beyond: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    reader = projections_of(ch_backend).reader
    waits: list[float] = []  # the answer must not come from a wait
    monkeypatch.setattr(reader.progress, "wait", waits.append)
    head = ch_backend.store.head()
    response = http.get("/calls/s31-0/timeline", params={"min_position": head + beyond})
    assert waits == []
    message = error_of(response, 409, "position_beyond_head")
    assert response.json()["error"]["head"] == head
    assert f"min_position {head + beyond}" in message
    assert f"head, position {head}" in message


def test_a_stored_position_not_applied_in_time_is_503_projection_behind(
        ch_backend: Backend, http: httpx.Client, ch_client: Client, ch_database: str) -> None:
    projections_of(ch_backend).reader.wait = 0.3
    ch_backend.pipeline.stop()  # the projection applies nothing more
    stored = ch_backend.service.command("s31-0", Command.END, by="agent-0").position
    assert stored == ch_backend.store.head()
    tables = snapshot(ch_client, ch_database)
    response = http.get("/calls/s31-0/timeline", params={"min_position": stored})
    message = error_of(response, 503, "projection_behind")
    assert f"position {stored}" in message
    assert ch_backend.store.head() == stored
    assert snapshot(ch_client, ch_database) == tables


def test_min_position_waits_for_the_projection(ch_backend: Backend,
                                               http: httpx.Client) -> None:
    started = http.post("/calls", json={"call_id": "fresh", "org_id": "org-on_demand",
                                        "agent_id": "a-1", "direction": "inbound"})
    assert started.status_code == 201
    ended = http.post("/calls/fresh/end", json={"by": "a-1"}).json()
    response = http.get("/calls/fresh/timeline", params={"min_position": ended["position"]})
    assert response.status_code == 200
    assert response.json() == ch_backend.service.timeline("fresh").to_json()
    assert response.json()["ended_at"] is not None
