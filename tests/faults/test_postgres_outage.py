"""PostgreSQL restarted mid-run: commands fail fast with 503 while it is down, then succeed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.faults.pgcluster import PrivateCluster
from tests.support import wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    private = PrivateCluster()
    private.start()
    yield private
    private.destroy()


@pytest.fixture
def backend(cluster: PrivateCluster, tmp_path: Path) -> Iterator[Backend]:
    built = build(Settings.from_env({}, data_dir=tmp_path, postgres_url=cluster.url))
    yield built
    built.close()


def command(client: TestClient, call: str, action: str, n: int) -> tuple[int, dict]:
    response = client.post(f"/calls/{call}/recording/{action}",
                           json={"by": "ann", "command_id": f"{call}-{n}"})
    return response.status_code, response.json()


def test_commands_answer_503_while_postgres_is_down(cluster: PrivateCluster,
                                                    backend: Backend) -> None:
    backend.service.health.start()  # as `recaudit serve` does (Backend.start)
    client = TestClient(backend.app)
    assert client.put("/policies/acme", json={"mode": "pause_resume",
                                              "changed_by": "admin"}).status_code == 200
    assert client.post("/calls", json={"call_id": "c1", "org_id": "acme", "agent_id": "ann",
                                       "direction": "inbound"}).status_code == 201
    assert command(client, "c1", "pause", 1)[0] == 200

    cluster.stop()
    # No request may touch the store first: the probe alone has to notice the outage
    # (a request that reached the store would wait out the library's reconnect attempts).
    wait_until(lambda: backend.service.health.is_down, 10, "the probe to see the outage")
    outage_answers = []
    for n, action in enumerate(("resume", "pause", "resume"), start=2):
        started = time.monotonic()
        status, body = command(client, "c1", action, n)
        outage_answers.append((status, body["error"]["code"], time.monotonic() - started))
    assert [(s, c) for s, c, _ in outage_answers] == [(503, "store_unavailable")] * 3, (
        outage_answers)
    # Fail fast: the answer does not wait out the storage library's reconnect attempts.
    assert all(seconds < 5 for _, _, seconds in outage_answers), outage_answers
    assert all("event store is unavailable" in body["error"]["message"] for _ in [0]
               for body in [command(client, "c1", "resume", 9)[1]])
    assert client.get("/health").status_code == 503
    cluster.start()
    wait_until(lambda: client.get("/health").status_code == 200, 30, "the store to come back")

    # After the restart the same commands (same ids) are applied once, in order.
    assert command(client, "c1", "resume", 2) == command(client, "c1", "resume", 2)
    status, body = command(client, "c1", "pause", 3)
    assert status == 200 and body["state"] == "paused"
    events, _ = LocalFeed(backend.store).read(0, 1000)
    types = [e.type for e in events if e.key == "c1"]
    assert types == ["CallStarted", "RecordingStarted", "RecordingPaused", "RecordingResumed",
                     "RecordingPaused"]
    assert client.get("/calls/c1").json()["version"] == 5
