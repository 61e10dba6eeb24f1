"""A transfer changes no recording: the segment store and the call-states consumer take
`CallTransferred` in their stride, and a pause open across it stays a pause."""

from __future__ import annotations

from pathlib import Path

from consumers.call_states import CallStatesConsumer
from consumers.segments import layout
from consumers.segments.callstate import CallAudio
from domain.rules import Command, Mode
from tests.segments.helpers import Rig, at


def test_a_pause_open_across_a_transfer_keeps_its_audio_out(rig: Rig, tmp_path: Path) -> None:
    service = rig.service
    service.set_policy("acme", mode=Mode.PAUSE_RESUME, changed_by="admin")
    service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound",
                       at=at(0))
    second = bytes([1, 2]) * 8000  # one second at 8 kHz
    rig.desk.ingest("c1", at(0), 8000, second)
    service.command("c1", Command.PAUSE, by="bob", at=at(1_000))
    rig.desk.ingest("c1", at(1_000), 8000, second)
    moved = service.transfer("c1", to_agent_id="carol", by="bob", at=at(1_500))
    assert moved.refusal is None and moved.status.state.value == "paused"
    rig.apply_all()
    service.command("c1", Command.RESUME, by="carol", at=at(2_000))
    rig.desk.ingest("c1", at(2_000), 8000, second)
    ended = service.command("c1", Command.END, by="carol", at=at(3_000))
    rig.apply_all()

    raw = rig.store.get(layout.call_key("c1"))
    assert raw is not None
    audio = CallAudio.from_json(raw)
    assert audio.version == ended.status.version
    assert [(s.state, s.start, s.end) for s in audio.spans] == [
        ("off", at_ms(0), at_ms(0)), ("recording", at_ms(0), at_ms(1_000)),
        ("paused", at_ms(1_000), at_ms(2_000)), ("recording", at_ms(2_000), at_ms(3_000))]
    assert list(audio.recordings) == [1]  # one recording, never closed by the transfer

    states = CallStatesConsumer(tmp_path / "call-states.sqlite")
    try:
        events, _ = rig.feed.read(0, 1000)
        states.apply(events)
        assert states.snapshot()["c1"] == ("acme", "ended", 1, 0, ended.status.version)
    finally:
        states.close()


def at_ms(ms: int) -> int:
    return round(at(ms).timestamp() * 1000)
