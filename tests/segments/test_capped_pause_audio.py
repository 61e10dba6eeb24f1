"""Audio across an automatic resume: a capped pause that resumes by itself cuts the recording
at exactly its deadline, to the sample, in both pause behaviours, whether the resume was
recorded by the scheduler's round or by a command dated after the deadline."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers.segments import AudioLimits, FilesystemSegmentStore, SegmentDesk, library
from domain.clock import iso_millis
from domain.rules import Command, Mode, PauseBehavior, Refusal
from recaudit.bootstrap.segments import commit_barrier, latest_version, start_of
from tests.core.helpers import call_events
from tests.segments.helpers import (
    FakeClock,
    Reference,
    Rig,
    at,
    prove_no_unrecorded_sample,
    wav_pcm,
)
from tests.segments.signal import Signal, epoch_ms

CAP_MS = 1_237  # an odd cap: the deadline falls between the chunks' boundaries
PAUSED_MS, END_MS = 1_003, 4_000
DEADLINE_MS = PAUSED_MS + CAP_MS
CHUNK_SAMPLES = 333
RATE = 8000
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


# -- the automatic resume reaching the segment store late ------------------------------

LATENESS_MS, DECIDED_MS = 1_000, 3_000  # the clock at 4000 ms decides up to 3000 ms


def late_rig(root: Path) -> Rig:
    root.mkdir()
    return Rig(root, FakeClock(at(0)), AudioLimits(lateness_ms=LATENESS_MS))


def restarted(rig: Rig) -> None:
    """A new segment consumer on the same store: only what it saved survives."""
    rig.desk = SegmentDesk(
        FilesystemSegmentStore(rig.segments_root, rig.ops), limits=rig.limits, clock=rig.clock,
        call_version=latest_version(rig.events), call_started=start_of(rig.events),
        barrier=commit_barrier(rig.committer),
    )
    rig.service.watermark = rig.desk


def capped_call_decided_past_the_deadline(
    rig: Rig, behavior: PauseBehavior, *, resume_in_time: bool
) -> Signal:
    """A capped call paused at 1003 ms with audio up to 3000 ms, decided by the lateness
    bound up to 3000 ms, past the deadline (2240 ms); the automatic resume reaches the
    segment store before that decision, or (held back) only after it."""
    rig.service.set_policy("capped", mode=Mode.PAUSE_RESUME, changed_by="admin",
                           pause_behavior=behavior, max_pause_ms=CAP_MS)
    rig.service.start_call(call_id="c1", org_id="capped", agent_id="a",
                           direction="inbound", at=at(0))
    signal = Signal.starting(at(0), RATE)
    send_audio(rig, signal, 0, PAUSED_MS)
    rig.service.command("c1", Command.PAUSE, by="a", at=at(PAUSED_MS))
    send_audio(rig, signal, PAUSED_MS, DECIDED_MS)
    rig.apply_all()
    rig.clock.set(at(END_MS))
    if resume_in_time:
        assert rig.service.resume_due("c1") is not None
        rig.apply_all()
    rig.desk.sweep()
    assert rig.desk.decided_until("c1") == at(DECIDED_MS)
    return signal


def finish_call(rig: Rig, signal: Signal) -> tuple[dict[str, Any], bytes]:
    send_audio(rig, signal, DECIDED_MS, END_MS)
    rig.service.command("c1", Command.END, by="a", at=at(END_MS))
    rig.apply_all()
    rig.desk.sweep()
    [manifest] = library.recordings(rig.desk, "c1")
    wav = library.wav(rig.desk, "c1", 1)
    data = b"".join(wav.read())
    assert hashlib.sha256(data).hexdigest() == wav.sha256 == manifest["sha256"]
    return manifest, data


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("behavior", list(PauseBehavior))
def test_audio_past_the_deadline_is_recorded_when_the_resume_comes_late(
    tmp_path: Path, behavior: PauseBehavior, restart: bool, caplog: pytest.LogCaptureFixture
) -> None:
    control = late_rig(tmp_path / "in-time")
    late = late_rig(tmp_path / "late")
    try:
        capped_call_decided_past_the_deadline(control, behavior, resume_in_time=True)
        expected = finish_call(control, Signal.starting(at(0), RATE))
        signal = capped_call_decided_past_the_deadline(late, behavior, resume_in_time=False)
        assert not [e for e in call_events(late.events, "c1") if e.type == "RecordingResumed"]
        # Decided while the store had no resume: the audio from the deadline on is kept.
        [open_manifest] = library.recordings(late.desk, "c1")
        assert [(s["start"], s["end"]) for s in open_manifest["pauses"]] == [
            (iso_millis(at(PAUSED_MS)), iso_millis(at(DEADLINE_MS)))]
        refused = late.service.command("c1", Command.END, by="a", at=at(DEADLINE_MS - 1))
        assert refused.refusal is Refusal.TOO_LATE
        if restart:
            restarted(late)
        state = late.desk.call_audio("c1")
        assert late.service.resume_due("c1") is not None  # the real resume, at the deadline
        late.apply_all()
        after = late.desk.call_audio("c1")
        assert after is not None and state is not None and after.version > state.version
        assert replace(after, version=state.version) == state, "the resume changed nothing"
        assert library.recordings(late.desk, "c1") == [open_manifest]
        manifest, pcm = finish_call(late, signal)
        assert (manifest, pcm) == expected
        reference = Reference(signal, behavior.value, late.service.timeline("c1"))
        assert wav_pcm(pcm, RATE) == reference.expected_pcm(1)
        assert manifest["missing_samples"] == 0
        prove_no_unrecorded_sample(late.ops, late.segments_root, {"c1": reference})
        assert "already decided" not in caplog.text
    finally:
        control.close()
        late.close()
