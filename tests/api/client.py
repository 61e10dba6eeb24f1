"""A thin client for the contract's routes over FastAPI's TestClient."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; plain httpx still works for the test client.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain.clock import iso_millis
from recaudit.bootstrap import Backend

COMMAND_PATHS = {
    "start": "recording/start",
    "pause": "recording/pause",
    "resume": "recording/resume",
    "stop": "recording/stop",
    "end": "end",
}


class Api:
    def __init__(self, app: FastAPI) -> None:
        self.http = TestClient(app)

    def put_policy(
        self, org_id: str, mode: str, *, agent_id: str | None = None, **extra: Any
    ) -> httpx.Response:
        path = f"/policies/{org_id}" + (f"/agents/{agent_id}" if agent_id else "")
        return self.http.put(path, json={"mode": mode, "changed_by": "admin", **extra})

    def start_call(
        self,
        call_id: str,
        org_id: str,
        *,
        agent_id: str = "agent-1",
        direction: str = "inbound",
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "call_id": call_id,
            "org_id": org_id,
            "agent_id": agent_id,
            "direction": direction,
        }
        body |= _optional(at, command_id)
        return self.http.post("/calls", json=body)

    def command(
        self,
        call_id: str,
        command: str,
        *,
        by: str = "agent-1",
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> httpx.Response:
        body = {"by": by} | _optional(at, command_id)
        return self.http.post(f"/calls/{call_id}/{COMMAND_PATHS[command]}", json=body)

    def transfer(
        self,
        call_id: str,
        to_agent_id: str,
        *,
        by: str = "agent-1",
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> httpx.Response:
        body = {"to_agent_id": to_agent_id, "by": by} | _optional(at, command_id)
        return self.http.post(f"/calls/{call_id}/transfer", json=body)

    def call(self, call_id: str) -> httpx.Response:
        return self.http.get(f"/calls/{call_id}")

    def timeline(self, call_id: str, min_position: int | None = None) -> httpx.Response:
        params = {} if min_position is None else {"min_position": min_position}
        return self.http.get(f"/calls/{call_id}/timeline", params=params)


def _optional(at: datetime | None, command_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if at is not None:
        body["at"] = iso_millis(at)
    if command_id is not None:
        body["command_id"] = command_id
    return body


def error_of(response: httpx.Response) -> tuple[int, str]:
    """(status, code) of an error answer, checking the contract's error shape on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"].strip(), body
    return response.status_code, error["code"]


def current_timeline(backend: Backend, api: Api, call_id: str) -> dict[str, Any]:
    """The call's timeline as served over HTTP once the read side has caught up with the call.

    The timeline is served from the projection: the backend's consumers are started and the
    read waits for the call's latest position. The answer must equal the reference timeline
    the event store replays (`RecordingService.timeline`).
    """
    backend.pipeline.start()
    position = api.call(call_id).json()["position"]
    response = api.timeline(call_id, min_position=position)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body == backend.service.timeline(call_id).to_json(), "projection differs"
    return body
