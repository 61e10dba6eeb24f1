"""A running backend (pipeline included) driven over HTTP, with calls dated in the past."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain.clock import iso_millis
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.support import wait_until

RATE = 8000


def days_ago(days: float, seconds: float = 0) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return now - timedelta(days=days) + timedelta(seconds=seconds)


def tone(samples: int, value: int = 1000) -> bytes:
    return value.to_bytes(2, "little", signed=True) * samples


@dataclass
class Rig:
    backend: Backend
    http: TestClient

    def put(self, path: str, **body: Any) -> httpx.Response:
        return self.http.put(path, json=body)

    def post(self, path: str, **body: Any) -> httpx.Response:
        return self.http.post(path, json=body)

    def delete(self, path: str, **body: Any) -> httpx.Response:
        return self.http.request("DELETE", path, json=body)

    def policy(self, org_id: str, mode: str = "on_demand", audio_days: int | None = None
               ) -> None:
        assert self.put(f"/policies/{org_id}", mode=mode, changed_by="admin").status_code == 200
        if audio_days is not None:
            answer = self.put(f"/policies/{org_id}/retention", audio_days=audio_days,
                              changed_by="admin")
            assert answer.status_code == 200, answer.text

    def recorded_call(self, call_id: str, org_id: str, *, start: datetime,
                      agent_id: str = "bob", end: bool = True) -> None:
        """A call with one recording whose two seconds of audio all arrived, dated from `start`."""
        def at(seconds: float) -> str:
            return iso_millis(start + timedelta(seconds=seconds))

        answer = self.post("/calls", call_id=call_id, org_id=org_id, agent_id=agent_id,
                           direction="inbound", at=at(0))
        assert answer.status_code == 201, answer.text
        assert self.post(f"/calls/{call_id}/recording/start", by=agent_id,
                         at=at(1)).status_code == 200
        sent = self.http.post(f"/calls/{call_id}/audio", params={"at": at(1), "rate": RATE},
                              content=tone(2 * RATE), headers={"content-type": "audio/L16"})
        assert sent.status_code == 202, sent.text
        if end:
            assert self.post(f"/calls/{call_id}/end", by=agent_id, at=at(3)).status_code == 200
        self.settle()

    def settle(self) -> None:
        """Wait until every consumer has applied every stored event."""
        head = self.backend.store.head()
        desk, projections = self.backend.segments, self.backend.projections
        assert desk is not None and projections is not None
        wait_until(lambda: desk.position() >= head
                   and projections.reader.applied_position() >= head,
                   timeout=20, what=f"the consumers to apply position {head}")

    def recordings(self, call_id: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"/calls/{call_id}/recordings")
        assert answer.status_code == 200, answer.text
        documents: list[dict[str, Any]] = answer.json()
        return documents

    def files(self, call_id: str) -> list[str]:
        """Every file the segment store keeps for the call's recordings."""
        root = self.backend.settings.data_dir / "recordings"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and f"/{call_id}/" in f"/{p.relative_to(root)}")

    def state(self) -> tuple[int, dict[str, bytes]]:
        """The event store's head and every recording's files in the segment store."""
        root = self.backend.settings.data_dir / "recordings"
        files = {}
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if relative.parts[0].startswith("_") or path.name.startswith("."):
                continue  # the consumer's own state, and files being written
            if path.is_file():
                files[str(relative)] = path.read_bytes()
        return self.backend.store.head(), files


def running(settings: Settings) -> Iterator[Rig]:
    backend = build(settings)
    backend.start()
    try:
        yield Rig(backend, TestClient(backend.app))
    finally:
        backend.close()


# Audio of calls dated years back waits for its call's commands like any other (the
# lateness bound is measured on the server clock).
LATENESS_MS = 20 * 365 * 86_400_000


@contextmanager
def started(settings: Settings) -> Iterator[Rig]:
    yield from running(settings)


def rig_settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"RECAUDIT_PROJECTION_LINGER_MS": "0",
                              "RECAUDIT_AUDIO_LATENESS_MS": str(LATENESS_MS), **env},
                             data_dir=tmp_path)
