"""Representative requests of every route, built for a principal and a target."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.rules import Mode
from recaudit.adapters.localfeed import LocalFeed
from tests.security.helpers import PRINCIPALS, Secured

# Targets: (org, agent) of the call acted on, or the organisation named.
OWN = ("acme", "bob")
COLLEAGUE = ("acme", "amy")
OTHER_ORG = ("globex", "gil")
ACME, GLOBEX = ("acme", None), ("globex", None)
NO_TARGET = ("-", None)
# Calls that changed hands: started by the first agent, transferred to the second.
HANDED_TO_BOB = ("acme", "amy>bob")
HANDED_FROM_BOB = ("acme", "bob>amy")

PCM_20_MS = bytes(320)  # 160 silent samples at 8 kHz


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    kwargs: dict[str, Any]


Builder = Callable[[Secured, str | None, tuple[str, str | None]], Request]


def actor(who: str | None) -> str:
    return PRINCIPALS[who].name if who else "nobody"


def _call(secured: Secured, target: tuple[str, str | None]) -> str:
    org, agent = target
    assert agent is not None
    first, _, then = agent.partition(">")
    call_id = secured.new_call(org, first)
    if then:
        result = secured.backend.service.transfer(call_id, to_agent_id=then, by="setup")
        assert result.refusal is None
    return call_id


def start_call(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    org, agent = target
    body = {"call_id": f"new-{uuid.uuid4().hex[:10]}", "org_id": org, "agent_id": agent,
            "direction": "outbound"}
    return Request("POST", "/calls", {"json": body})


def command(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    path = f"/calls/{_call(secured, target)}/recording/start"
    return Request("POST", path, {"json": {"by": actor(who)}})


def end_call(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("POST", f"/calls/{_call(secured, target)}/end", {"json": {"by": actor(who)}})


def transfer(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("POST", f"/calls/{_call(secured, target)}/transfer",
                   {"json": {"to_agent_id": "carl", "by": actor(who)}})


def read_call(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("GET", f"/calls/{_call(secured, target)}", {})


def timeline(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    call_id = _call(secured, target)
    secured.backend.pipeline.start()  # the timeline is served from the projection
    return Request("GET", f"/calls/{call_id}/timeline",
                   {"params": {"min_position": str(secured.head())}})


def recordings(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("GET", f"/calls/{_call(secured, target)}/recordings", {})


def audio(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    call_id = _call(secured, target)
    params = {"at": datetime.now(UTC).isoformat(), "rate": "8000"}
    return Request("POST", f"/calls/{call_id}/audio",
                   {"params": params, "content": PCM_20_MS,
                    "headers": {"content-type": "audio/L16"}})


def set_policy(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    body = {"mode": "pause_resume", "changed_by": actor(who), "reason": "matrix"}
    return Request("PUT", f"/policies/{target[0]}", {"json": body})


def set_override(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    body = {"mode": "always_on", "changed_by": actor(who)}
    return Request("PUT", f"/policies/{target[0]}/agents/bob", {"json": body})


def remove_override(secured: Secured, who: str | None,
                    target: tuple[str, str | None]) -> Request:
    secured.backend.service.set_policy(target[0], mode=Mode.ALWAYS_ON, changed_by="setup",
                                       agent_id="bob")
    return Request("DELETE", f"/policies/{target[0]}/agents/bob",
                   {"json": {"changed_by": actor(who), "reason": "matrix"}})


def list_calls(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("GET", "/calls", {"params": {"org_id": target[0]}})


def read_policy(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("GET", f"/policies/{target[0]}", {})


def rebuild(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("POST", "/admin/projections/rebuild", {})


def last_event(secured: Secured) -> Any:
    events, _ = LocalFeed(secured.backend.store).read(secured.head() - 1, 1)
    return events[-1]


# -- the compliance lifecycle ----------------------------------------------------------------

def set_retention(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    body = {"audio_days": 365, "changed_by": actor(who)}
    return Request("PUT", f"/policies/{target[0]}/retention", {"json": body})


def run_retention(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("POST", "/admin/retention/run", {"json": {"by": actor(who), "dry_run": True}})


def erase(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    """A call without recordings: an allowed erasure answers 404 unknown_recording."""
    return Request("DELETE", f"/calls/{_call(secured, target)}/recordings/1",
                   {"json": {"by": actor(who), "reason": "matrix"}})


def place_hold(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    body = {"org_id": target[0], "case": "matrix", "by": actor(who)}
    return Request("POST", "/legal-holds", {"json": body})


def release_hold(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    assert secured.backend.compliance is not None
    hold = secured.backend.compliance.place_hold(target[0], call_id=None, agent_id=None,
                                                 case="matrix", by="setup")
    return Request("POST", f"/legal-holds/{hold.hold_id}/release", {"json": {"by": actor(who)}})


def list_holds(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("GET", "/legal-holds", {"params": {"org_id": target[0]}})


def access_log(secured: Secured, who: str | None, target: tuple[str, str | None]) -> Request:
    return Request("GET", f"/calls/{_call(secured, target)}/access", {})
