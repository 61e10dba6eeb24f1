"""Audio decided by the lateness bound, and commands that come later than it (`too_late`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from consumers.segments import AudioLimits, library
from consumers.segments.audio import EPOCH, SAMPLE_BYTES
from domain.rules import Command, Mode, PauseBehavior, Refusal
from recaudit.bootstrap.segments import commit_barrier
from tests.segments.helpers import (
    ORIGIN,
    FakeClock,
    Reference,
    Rig,
    at,
    prove_no_unrecorded_sample,
    wav_pcm,
)
from tests.segments.signal import Signal, epoch_ms

RATE = 8000
CHUNK = 160  # 20 ms


@pytest.fixture
def late_rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path, FakeClock(ORIGIN), AudioLimits(lateness_ms=1000))
    yield rig
    rig.close()


def start_call(rig: Rig, call_id: str = "c1", mode: Mode = Mode.PAUSE_RESUME) -> Signal:
    rig.service.set_policy("org", mode=mode, changed_by="admin",
                           pause_behavior=PauseBehavior.SKIP)
    rig.service.start_call(call_id=call_id, org_id="org", agent_id="a", direction="inbound",
                           at=at(0))
    rig.apply_all()
    return Signal.starting(at(0), RATE)


def send(rig: Rig, signal: Signal, start_ms: int, end_ms: int, call_id: str = "c1") -> None:
    first, last = (signal.ms_index(epoch_ms(at(ms))) for ms in (start_ms, end_ms))
    for index in range(first, last, CHUNK):
        when = EPOCH + timedelta(microseconds=index * 1_000_000 // RATE)
        rig.desk.ingest(call_id, when, RATE, signal.pcm(index, CHUNK))


def finish(rig: Rig, signal: Signal, end_ms: int) -> list[bytes]:
    rig.service.command("c1", Command.END, by="a", at=at(end_ms))
    rig.apply_all()
    rig.desk.sweep()
    reference = Reference(signal, "skip", rig.service.timeline("c1"))
    prove_no_unrecorded_sample(rig.ops, rig.segments_root, {"c1": reference})
    wavs = []
    for number in reference.recording_numbers():
        pcm = wav_pcm(b"".join(library.wav(rig.desk, "c1", number).read()), RATE)
        assert pcm == reference.expected_pcm(number)
        wavs.append(pcm)
    return wavs


def parts_on_disk(rig: Rig) -> list[Path]:
    return sorted(rig.segments_root.rglob("*.pcm"))


def test_audio_waits_for_the_bound_then_an_older_command_is_too_late(late_rig: Rig) -> None:
    rig = late_rig
    signal = start_call(rig)
    rig.clock.set(at(3000))
    send(rig, signal, 0, 3000)
    rig.desk.sweep()  # 3000 - 1000: everything before 2000 ms is decided as recorded
    assert rig.desk.decided_until("c1") == at(2000)
    assert parts_on_disk(rig)

    late = rig.service.command("c1", Command.PAUSE, by="a", at=at(1500))
    assert late.refusal is Refusal.TOO_LATE
    assert late.status.state.value == "recording"
    assert [(r.code, r.command) for r in rig.service.timeline("c1").rejected] == [
        ("too_late", "pause")
    ]
    on_time = rig.service.command("c1", Command.PAUSE, by="a", at=at(2500))
    assert on_time.refusal is None
    rig.apply_all()
    [pcm] = finish(rig, signal, 2800)
    assert len(pcm) == 2500 * RATE // 1000 * SAMPLE_BYTES


def test_a_command_stored_before_the_claim_is_applied_before_deciding(late_rig: Rig) -> None:
    rig = late_rig
    signal = start_call(rig)
    rig.clock.set(at(3000))
    send(rig, signal, 0, 3000)
    assert rig.service.command("c1", Command.PAUSE, by="a", at=at(1200)).refusal is None
    rig.desk.sweep()  # the consumer has not applied the pause yet: the claim waits for it
    assert rig.desk.decided_until("c1") == at(2000)
    assert not parts_on_disk(rig)
    rig.apply_all()  # the pause arrives; the claimed decision runs with it
    assert parts_on_disk(rig)
    assert rig.service.command("c1", Command.RESUME, by="a", at=at(1900)).refusal is (
        Refusal.TOO_LATE
    )
    assert rig.service.command("c1", Command.RESUME, by="a", at=at(2400)).refusal is None
    rig.apply_all()
    [pcm] = finish(rig, signal, 2900)
    assert len(pcm) == (1200 + 500) * RATE // 1000 * SAMPLE_BYTES


def test_a_command_checked_after_the_claim_is_refused(late_rig: Rig) -> None:
    rig = late_rig
    signal = start_call(rig)
    rig.clock.set(at(3000))
    send(rig, signal, 0, 3000)
    answers = []
    barrier = commit_barrier(rig.committer)

    def racing_barrier() -> None:
        # A command arrives between the claim and the barrier: it must see the claim.
        answers.append(rig.service.command("c1", Command.PAUSE, by="a", at=at(1500)))
        barrier()

    rig.desk.barrier = racing_barrier
    rig.desk.sweep()
    assert [a.refusal for a in answers] == [Refusal.TOO_LATE]
    [pcm] = finish(rig, signal, 2000)
    assert len(pcm) == 2000 * RATE // 1000 * SAMPLE_BYTES


def test_a_recording_without_audio_is_finished_after_the_bound(late_rig: Rig) -> None:
    rig = late_rig
    start_call(rig, mode=Mode.ON_DEMAND_UIS)
    for command, ms in ((Command.START, 100), (Command.STOP, 600)):
        rig.service.command("c1", command, by="a", at=at(ms))
    rig.apply_all()
    rig.desk.sweep()
    assert library.recordings(rig.desk, "c1")[0]["state"] == "open"
    rig.clock.set(at(1600))
    rig.desk.sweep()
    [manifest] = library.recordings(rig.desk, "c1")
    assert manifest["state"] == "closed"
    assert manifest["duration_ms"] == 500 and manifest["segments"][0]["duration_ms"] == 500
    # The call never sent audio: all of it is missing, silence at the default rate.
    assert (manifest["audio"], manifest["rate"], manifest["samples"], manifest["bytes"],
            manifest["missing_samples"]) == ("none", 8000, 4000, 8000, 4000)
    assert wav_pcm(b"".join(library.wav(rig.desk, "c1", 1).read()), 8000) == bytes(8000)


def test_a_call_without_audio_never_gets_too_late(late_rig: Rig) -> None:
    """Commands dated far in the past (as the demo sends them) are judged as before."""
    rig = late_rig
    start_call(rig, mode=Mode.ON_DEMAND_UIS)
    rig.clock.set(at(3_600_000))  # an hour on: everything is past the lateness bound
    for command, ms in ((Command.START, 100), (Command.STOP, 600)):
        assert rig.service.command("c1", command, by="a", at=at(ms)).refusal is None
        rig.apply_all()
        rig.desk.sweep()
    assert rig.desk.decided_until("c1") == at(600)  # the known state, never past it
    assert rig.service.command("c1", Command.START, by="a", at=at(550)).refusal is (
        Refusal.OUT_OF_ORDER
    )
    assert rig.service.command("c1", Command.START, by="a", at=at(700)).refusal is None
    rig.apply_all()
    rig.desk.sweep()
    assert [m["state"] for m in library.recordings(rig.desk, "c1")] == ["closed", "open"]
