"""HEAD of a recording's WAV passes the same access rule as GET, end to end with tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.rules import Command
from recaudit.adapters.localfeed import LocalFeed
from tests.security.helpers import Secured, error_of


def closed_recording(secured: Secured, org_id: str, agent_id: str) -> str:
    """A call of an hour ago with one recording, closed (its audio decided by the bound)."""
    service, desk = secured.backend.service, secured.backend.segments
    assert desk is not None
    call_id, past = f"rec-{uuid.uuid4().hex[:10]}", datetime.now(UTC) - timedelta(hours=1)
    assert service.start_call(call_id=call_id, org_id=org_id, agent_id=agent_id,
                              direction="inbound", at=past).refusal is None
    for command, seconds in ((Command.START, 1), (Command.END, 2)):
        outcome = service.command(call_id, command, by=agent_id,
                                  at=past + timedelta(seconds=seconds))
        assert outcome.refusal is None
    events, _ = LocalFeed(secured.backend.store).read(desk.position(), 10_000)
    desk.apply(events)
    desk.sweep()
    return call_id


@pytest.mark.parametrize("who", ["agent-bob", "supervisor-acme", "auditor-acme", "auditor-all"])
def test_readers_of_the_call_may_head_its_wav(secured: Secured, who: str) -> None:
    path = f"/calls/{closed_recording(secured, 'acme', 'bob')}/recordings/1.wav"
    full = secured.request(who, "GET", path)
    head = secured.request(who, "HEAD", path)
    assert (full.status_code, head.status_code) == (200, 200), head.text
    for name in ("etag", "content-length", "content-disposition", "accept-ranges"):
        assert head.headers[name] == full.headers[name]
    assert head.content == b""
    ranged = secured.request(who, "HEAD", path, headers={"Range": "bytes=0-43"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "44"


@pytest.mark.parametrize(("who", "status", "code"), [
    ("media-acme", 403, "forbidden"),
    ("admin-acme", 403, "forbidden"),
    ("agent-amy", 404, "unknown_call"),  # a colleague's call
    ("supervisor-globex", 404, "unknown_call"),
    (None, 401, "unauthenticated"),
])
def test_head_is_refused_like_get(secured: Secured, who: str | None, status: int,
                                  code: str) -> None:
    path = f"/calls/{closed_recording(secured, 'acme', 'bob')}/recordings/1.wav"
    before = secured.head(), secured.held_bytes()
    assert error_of(secured.request(who, "GET", path)) == (status, code)
    head = secured.request(who, "HEAD", path)  # a HEAD answer has no body: the status says it
    assert (head.status_code, head.content) == (status, b"")
    assert (secured.head(), secured.held_bytes()) == before
