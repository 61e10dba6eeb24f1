"""Calls for the console's tests, made through the JSON API with times in the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from domain.clock import iso_millis
from domain.rules import Mode

MODES = (Mode.ALWAYS_ON, Mode.PAUSE_RESUME, Mode.ON_DEMAND, Mode.ON_DEMAND_UIS)
ORGS = ("list-a", "list-b")
AGENTS = ("ann", "ben", "cid")


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


class Maker:
    """Starts calls and sends their commands, each at a chosen time."""

    def __init__(self, api: httpx.Client, base: datetime) -> None:
        self.api = api
        self.base = base
        self.modes: dict[str, Mode] = {}
        self.position = 0

    def policy(self, org: str, mode: Mode) -> None:
        if self.modes.get(org) is not mode:
            ok(self.api.put(f"/policies/{org}", json={"mode": mode.value, "changed_by": "setup"}))
            self.modes[org] = mode

    def start(self, call_id: str, org: str, agent: str, at: datetime) -> None:
        body = {"call_id": call_id, "org_id": org, "agent_id": agent,
                "direction": "inbound", "at": iso_millis(at)}
        self.position = ok(self.api.post("/calls", json=body))["position"]

    def send(self, call_id: str, path: str, by: str, at: datetime,
             refused: bool = False) -> None:
        answer = self.api.post(f"/calls/{call_id}{path}", json={"by": by, "at": iso_millis(at)})
        assert answer.status_code == (409 if refused else 200), answer.text
        body = answer.json()
        self.position = (body["error"]["call"] if refused else body)["position"]


def make_calls(api: httpx.Client, count: int = 60, prefix: str = "list") -> Maker:
    """`count` calls of every mode, org and agent, a minute apart, a day ago; pauses of
    different lengths, refusals, running and ended calls."""
    maker = Maker(api, datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    for i in range(count):
        org, agent, mode = ORGS[i % 2], AGENTS[i % 3], MODES[(i // 2) % 4]
        maker.policy(org, mode)
        call_id = f"{prefix}-{i:02d}"
        at = maker.base + timedelta(minutes=i)
        maker.start(call_id, org, agent, at)
        script(maker, call_id, agent, mode, at, i)
    return maker


def script(maker: Maker, call_id: str, by: str, mode: Mode, at: datetime, i: int) -> None:
    def s(seconds: float) -> datetime:
        return at + timedelta(seconds=seconds)

    if mode is Mode.PAUSE_RESUME:
        maker.send(call_id, "/recording/pause", by, s(5))
        maker.send(call_id, "/recording/resume", by, s(5 + i % 7 + 1))
    elif mode is Mode.ON_DEMAND:
        maker.send(call_id, "/recording/start", by, s(2))
        maker.send(call_id, "/recording/stop", by, s(3), refused=True)  # not_permitted
    elif mode is Mode.ON_DEMAND_UIS:
        maker.send(call_id, "/recording/start", by, s(2))
        maker.send(call_id, "/recording/stop", by, s(10))
    if i % 5:
        maker.send(call_id, "/end", by, s(40))
