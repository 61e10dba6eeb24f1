"""The backend over HTTP for the segment store's route tests, on a clock the test controls.

Policies `org` (pause_resume: recording from the start) and `uis` (on_demand_uis), and the
calls `c1`, `c2` (of `org`) and `u1` (of `uis`), all started at `at(0)`; the clock stands an
hour later, and the segment consumer runs only when a test calls `apply`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; plain httpx still works for the test client.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from consumers.segments import SegmentDesk
from domain.rules import Mode
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.segments.helpers import ORIGIN, FakeClock, at, snapshot
from tests.segments.signal import Signal, epoch_ms

PER_CALL = 3200  # bytes a call may hold undecided: 200 ms at 8 kHz
TOTAL = 4800
L16 = "audio/L16"


@dataclass
class Api:
    backend: Backend
    client: TestClient
    signal: Signal
    clock: FakeClock

    @property
    def desk(self) -> SegmentDesk:
        assert self.backend.segments is not None
        return self.backend.segments

    def post(self, call_id: str, start_ms: int, samples: int, **overrides: Any) -> httpx.Response:
        first = self.signal.ms_index(epoch_ms(at(start_ms)))
        params = {"at": at(start_ms).isoformat(), "rate": "8000"}
        params.update(overrides.pop("params", {}))
        headers = {"content-type": overrides.pop("content_type", L16)}
        body = overrides.pop("body", None)
        content = self.signal.pcm(first, samples) if body is None else body
        return self.client.post(f"/calls/{call_id}/audio", params=params, content=content,
                                headers=headers)

    def command(self, call_id: str, path: str, ms: int) -> httpx.Response:
        return self.client.post(f"/calls/{call_id}/{path}", json={"by": "a", "at": at(ms)
                                                                 .isoformat()})

    def apply(self) -> None:
        events, _ = LocalFeed(self.backend.store).read(self.desk.position(), 10_000)
        if events:
            self.desk.apply(events)

    def state(self) -> tuple[dict[str, bytes], int, int]:
        """Everything a refused request must leave alone."""
        recordings = snapshot(self.backend.settings.data_dir / "recordings")
        return recordings, self.desk.held_bytes(), self.backend.store.head()


def serve(tmp_path: Path, env: dict[str, str]) -> Iterator[Api]:
    clock = FakeClock(ORIGIN + timedelta(hours=1))
    backend = build(Settings.from_env(env, data_dir=tmp_path), clock=clock)
    client = TestClient(backend.app)
    for org, mode in (("org", Mode.PAUSE_RESUME), ("uis", Mode.ON_DEMAND_UIS)):
        client.put(f"/policies/{org}", json={"mode": mode.value, "changed_by": "admin"})
    for call_id, org in (("c1", "org"), ("c2", "org"), ("u1", "uis")):
        started = client.post("/calls", json={"call_id": call_id, "org_id": org, "agent_id": "a",
                                              "direction": "inbound", "at": at(0).isoformat()})
        assert started.status_code == 201
    yield Api(backend, client, Signal.starting(at(0), 8000), clock)
    backend.close()


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]
