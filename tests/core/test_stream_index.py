"""The event store's point lookups, on each backend: what read-your-writes waits for."""

from __future__ import annotations

from domain.rules import Command, Mode
from recaudit.bootstrap import Backend


def test_a_calls_version_at_a_position(backend: Backend) -> None:
    service = backend.service
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    before = backend.store.head()
    started = service.start_call(call_id="c1", org_id="acme", agent_id="bob",
                                 direction="inbound").position
    other = service.start_call(call_id="c2", org_id="acme", agent_id="ann",
                               direction="inbound").position
    recording = service.command("c1", Command.START, by="bob").position
    assert started is not None and other is not None and recording is not None
    assert before < started < other < recording
    version_at = backend.store.call_version_at
    assert version_at("c1", before) is None  # the call has no event there yet
    assert version_at("c1", started) == 1
    assert version_at("c1", other) == 1  # another call's event does not move this one
    assert version_at("c1", recording) == 2
    assert version_at("c1", recording + 100) == 2
    assert version_at("c2", recording) == 1
    assert version_at("no-such-call", recording) is None

