"""Token holders of every role, and a backend that checks their tokens, for the tests."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass, field

import httpx

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; plain httpx still works for the test client.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from recaudit.access.tokens import EVERY_ORG, Principal, Role, entry_line, new_token
from recaudit.bootstrap import Backend

# Every kind of token holder the rules tell apart: own calls, own organisation, every one.
PRINCIPALS: dict[str, Principal] = {
    "agent-bob": Principal("bob", Role.AGENT, "acme", "bob"),
    "agent-amy": Principal("amy", Role.AGENT, "acme", "amy"),
    "supervisor-acme": Principal("sue", Role.SUPERVISOR, "acme"),
    "supervisor-globex": Principal("gus", Role.SUPERVISOR, "globex"),
    "auditor-acme": Principal("aud", Role.AUDITOR, "acme"),
    "auditor-all": Principal("ada", Role.AUDITOR, EVERY_ORG),
    "admin-acme": Principal("ann", Role.ADMIN, "acme"),
    "admin-all": Principal("root", Role.ADMIN, EVERY_ORG),
    "media-acme": Principal("pbx", Role.MEDIA, "acme"),
}


@dataclass
class Tokens:
    """A fresh token per principal, and the configuration text that lists their hashes."""

    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def issue(cls) -> Tokens:
        return cls({key: new_token() for key in PRINCIPALS})

    def config(self) -> str:
        return "\n".join(entry_line(self.raw[key], p) for key, p in PRINCIPALS.items())

    def header(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw[key]}"}


@dataclass
class Secured:
    """A backend with every principal's token configured, and policies for two orgs."""

    backend: Backend
    tokens: Tokens
    http: TestClient

    def as_(self, key: str | None) -> dict[str, str]:
        return {} if key is None else self.tokens.header(key)

    def new_call(self, org_id: str, agent_id: str) -> str:
        """A call started through the service (not the gate), for a test to act on."""
        call_id = f"call-{uuid.uuid4().hex[:10]}"
        result = self.backend.service.start_call(call_id=call_id, org_id=org_id,
                                                 agent_id=agent_id, direction="inbound")
        assert result.refusal is None
        return call_id

    def head(self) -> int:
        return self.backend.store.head()

    def held_bytes(self) -> int:
        assert self.backend.segments is not None
        return self.backend.segments.held_bytes()

    def request(self, key: str | None, method: str, path: str, *, json: object = None,
                content: bytes | None = None, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.request(method, path, json=json, content=content, params=params,
                                 headers={**self.as_(key), **(headers or {})})


def error_of(response: httpx.Response) -> tuple[int, str]:
    """(status, code) of an error answer, checking the contract's error shape on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"].strip(), body
    return response.status_code, error["code"]
