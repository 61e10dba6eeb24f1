"""Audio across an automatic resume: a capped pause that resumes by itself cuts the recording
at exactly its deadline, to the sample, in both pause behaviours, whether the resume was
recorded by the scheduler's round or by a command dated after the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consumers.segments import library
from domain.clock import iso_millis
from domain.rules import Command, Mode, PauseBehavior
from tests.core.helpers import call_events
from tests.segments.helpers import Reference, Rig, at, prove_no_unrecorded_sample, wav_pcm
from tests.segments.signal import Signal, epoch_ms

CAP_MS = 1_237  # an odd cap: the deadline falls between the chunks' boundaries
PAUSED_MS, END_MS = 1_003, 4_000
DEADLINE_MS = PAUSED_MS + CAP_MS
CHUNK_SAMPLES = 333
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def send_audio(rig: Rig, signal: Signal, start_ms: int, end_ms: int) -> None:
    first, last = signal.ms_index(epoch_ms(at(start_ms))), signal.ms_index(epoch_ms(at(end_ms)))
    for n in range(first, last, CHUNK_SAMPLES):
        count = min(CHUNK_SAMPLES, last - n)
        start = EPOCH + timedelta(microseconds=n * 1_000_000 // signal.rate)
        rig.desk.ingest("c1", start, signal.rate, signal.pcm(n, count))


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("recorded_by", ["scheduler", "command"])
@pytest.mark.parametrize("behavior", list(PauseBehavior))
def test_a_recording_is_cut_at_exactly_the_automatic_resume(
    rig: Rig, behavior: PauseBehavior, recorded_by: str, rate: int
) -> None:
    service = rig.service
    service.set_policy("capped", mode=Mode.PAUSE_RESUME, changed_by="admin",
                       pause_behavior=behavior, max_pause_ms=CAP_MS)
    service.start_call(call_id="c1", org_id="capped", agent_id="a", direction="inbound",
                       at=at(0))
    signal = Signal.starting(at(0), rate)
    send_audio(rig, signal, 0, PAUSED_MS)
    service.command("c1", Command.PAUSE, by="a", at=at(PAUSED_MS))
    rig.apply_all()
    send_audio(rig, signal, PAUSED_MS, END_MS)
    if recorded_by == "scheduler":
        assert service.resume_due("c1") is not None  # the server clock is past the deadline
        rig.apply_all()
    service.command("c1", Command.END, by="a", at=at(END_MS))
    rig.apply_all()
    rig.desk.sweep()
    events = call_events(rig.events, "c1")
    resumed = [e for e in events if e.type == "RecordingResumed"]
    assert [(e.at, e.fields["automatic"], e.fields["by"]) for e in resumed] == [
        (at(DEADLINE_MS), True, "system")]
    reference = Reference(signal, behavior.value, service.timeline("c1"))
    [manifest] = library.recordings(rig.desk, "c1")
    pcm = wav_pcm(b"".join(library.wav(rig.desk, "c1", 1).read()), rate)
    assert pcm == reference.expected_pcm(1)
    deadline_sample = signal.ms_index(epoch_ms(at(DEADLINE_MS)))
    recorded_before = signal.ms_index(epoch_ms(at(PAUSED_MS))) - signal.base
    offset = 2 * (recorded_before if behavior is PauseBehavior.SKIP
                  else deadline_sample - signal.base)
    assert pcm[offset:offset + 2] == signal.pcm(deadline_sample, 1), "the deadline's sample"
    assert [(s["start"], s["end"]) for s in manifest["pauses"]] == [
        (iso_millis(at(PAUSED_MS)), iso_millis(at(DEADLINE_MS)))]
    assert manifest["missing_samples"] == 0
    prove_no_unrecorded_sample(rig.ops, rig.segments_root, {"c1": reference})
