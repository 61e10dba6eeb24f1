"""Findings name the call (or the organisation of a policy) beside the stream UUID, from
the stream's own events, and only a name that hashes back to the stream id."""

from __future__ import annotations

from domain.ids import call_stream_id, policy_stream_id
from domain.rules import Mode
from recaudit.adapters.integrity.names import stream_name
from tests.integrity.scene import AUDIO_CALLS, Scene
from tests.workload import ORGS


def test_findings_name_the_call_and_the_policy(scene: Scene) -> None:
    call_id, org_id = AUDIO_CALLS[0], ORGS[Mode.ALWAYS_ON]
    streams = {call_stream_id(call_id).hex: "call", policy_stream_id(org_id).hex: "policy"}
    rows = {streams[r.stream]: r for r in scene.tamper.rows() if r.stream in streams}
    for row in rows.values():
        scene.tamper.set_state(row.position, row.state + b" ")
    findings = {f.position: f for f in scene.verify().findings}
    assert set(findings) == {r.position for r in rows.values()}

    call = findings[rows["call"].position]
    assert (call.kind.value, call.call_id, call.org_id) == ("edited", call_id, None)
    assert f"stream {call.stream} (call {call_id}) version" in call.line()
    assert call.to_json()["call_id"] == call_id

    policy = findings[rows["policy"].position]
    assert (policy.call_id, policy.org_id) == (None, org_id)
    assert f"stream {policy.stream} (policy of org {org_id}) version" in policy.line()
    assert policy.to_json()["org_id"] == org_id


def test_a_name_that_does_not_hash_to_the_stream_is_not_used() -> None:
    stream = call_stream_id("c-1").hex
    forged = b'{"call_id": "c-2"}'
    assert stream_name(stream, [forged, b"not json", b"[1]"]) == (None, None)
    assert stream_name(stream, [forged, b'{"call_id": "c-1"}']) == ("c-1", None)
    org = policy_stream_id("acme").hex
    assert stream_name(org, [b'{"org_id": "acme", "call_id": "c-1"}']) == (None, "acme")
