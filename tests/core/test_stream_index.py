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



def test_raw_events_are_the_stored_rows_of_the_topics_asked(backend: Backend) -> None:
    service = backend.service
    service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
    service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    service.command("c1", Command.START, by="bob")
    service.command("c1", Command.RESUME, by="bob")  # refused: a CommandRejected
    notifications = backend.store.recorder.select_notifications(start=1, limit=100)
    assert [n.topic for n in notifications] == [
        "recaudit.policy.PolicyCreated", "recaudit.policy.PolicySet",
        "recaudit.call.CallStarted", "recaudit.call.RecordingStarted",
        "recaudit.call.CommandRejected"]
    topics = ["recaudit.policy.PolicySet", "recaudit.call.CallStarted",
              "recaudit.call.RecordingStarted", "recaudit.call.CommandRejected"]
    expected = [(n.id, n.topic, n.originator_version, bytes(n.state))
                for n in notifications if n.topic in topics]
    raw = backend.store.index.raw_events
    assert raw(0, 100, topics) == expected  # PolicyCreated is not asked for
    assert raw(0, 2, topics) == expected[:2]
    assert raw(expected[1][0], 100, topics) == expected[2:]  # strictly after
    assert raw(expected[-1][0], 100, topics) == []
    assert raw(0, 100, ["recaudit.call.CallEnded"]) == []
