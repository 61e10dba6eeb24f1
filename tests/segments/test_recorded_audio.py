"""The stored audio is exactly the audio of the recording intervals, in every mode.

Random calls (every mode, both pause behaviours, both rates, many chunk sizes,
commands refused now and then, events at the same millisecond) are played
with their audio arriving before, between and after the control events, sent
twice now and then, and events delivered twice. Audio sent before its call
started is refused, and its part from the call's start is sent again. Then each recording must hold,
to the sample and in order, the samples of its recording intervals (with
`silence`, also zeros for its pauses, so its length is its wall span), and no
file the store ever wrote, temporary files included, may hold any other sample.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from consumers.segments import library
from consumers.segments.audio import ms_to_datetime
from consumers.segments.errors import AudioBeforeCall, AudioOverlap, CallAudioEnded
from domain.clock import iso_millis
from domain.published import PublishedEvent
from domain.rules import CallState, Mode
from tests.segments.helpers import Reference, Rig, at, prove_no_unrecorded_sample, wav_pcm
from tests.segments.scripts import CallPlan, Chunk, issue, plan_call, set_policies
from tests.segments.signal import epoch_ms

CALLS_PER_RUN = 5


def drive(rig: Rig, rng: random.Random, plans: list[CallPlan]) -> dict[str, int]:
    """Interleave event delivery, audio, repeats and sweeps at random; returns counts."""
    queues = {p.call_id: p.chunks(rng) for p in plans}
    sent: list[Chunk] = []
    delivered: list[list[PublishedEvent]] = []
    counts = {"duplicates": 0, "refused_repeats": 0, "chunks": 0, "after_end": 0,
              "before_start": 0}
    events, _ = rig.feed.read(0, 100_000)  # what the feed will deliver, in order
    while any(queues.values()) or events:
        roll = rng.random()
        if roll < 0.25 and events:
            size = rng.randint(1, 3)
            batch, events = events[:size], events[size:]
            rig.desk.apply(batch)
            delivered.append(batch)
        elif roll < 0.3 and delivered:
            rig.desk.apply(rng.choice(delivered))  # a re-delivery
        elif roll < 0.34:
            rig.desk.sweep()
        elif roll < 0.4 and sent:
            _send_again(rig, rng.choice(sent), counts)
        else:
            waiting = [q for q in queues.values() if q]
            if waiting:
                _send(rig, rng.choice(waiting).pop(0), plans, sent, counts)
    rig.desk.sweep()
    return counts


def _send(
    rig: Rig, chunk: Chunk, plans: list[CallPlan], sent: list[Chunk], counts: dict[str, int]
) -> None:
    plan = next(p for p in plans if p.call_id == chunk.call_id)
    try:
        accepted = rig.desk.ingest(chunk.call_id, chunk.at, chunk.rate, chunk.pcm)
    except CallAudioEnded:
        # Only once everything up to the call's end is decided, so only for audio after it.
        assert chunk.first >= plan.signal.ms_index(epoch_ms(at(plan.end_ms)))
        counts["after_end"] += 1
        return
    except AudioBeforeCall:
        # Refused whole; a client sends again what lies from the call's start on.
        start = plan.signal.ms_index(epoch_ms(at(plan.start_ms)))
        assert chunk.first < start
        counts["before_start"] += 1
        if chunk.first + len(chunk.pcm) // 2 > start:
            tail = chunk.pcm[(start - chunk.first) * 2 :]
            _send(rig, Chunk(chunk.call_id, start, tail, chunk.rate), plans, sent, counts)
        return
    assert not accepted.duplicate and accepted.samples == len(chunk.pcm) // 2
    sent.append(chunk)
    counts["chunks"] += 1


def _send_again(rig: Rig, chunk: Chunk, counts: dict[str, int]) -> None:
    try:
        accepted = rig.desk.ingest(chunk.call_id, chunk.at, chunk.rate, chunk.pcm)
    except (AudioOverlap, CallAudioEnded):
        counts["refused_repeats"] += 1  # decided long ago, or the call is over: refused
        return
    assert accepted.duplicate
    counts["duplicates"] += 1


def check_call(rig: Rig, plan: CallPlan) -> int:
    reference = Reference(plan.signal, plan.behavior.value, rig.service.timeline(plan.call_id))
    manifests = library.recordings(rig.desk, plan.call_id)
    assert [m["recording_no"] for m in manifests] == reference.recording_numbers()
    for document in manifests:
        number = document["recording_no"]
        stored = library.wav(rig.desk, plan.call_id, number)
        wav = b"".join(stored.read())
        assert stored.size == len(wav)
        pcm = wav_pcm(wav, plan.rate)
        assert pcm == reference.expected_pcm(number), f"{plan.call_id} recording {number}"
        _check_manifest(document, reference, number, wav)
        if plan.behavior.value == "silence":
            intervals = reference.intervals(number)
            wall_ms = intervals[-1][2] - intervals[0][1]
            assert len(pcm) == 2 * wall_ms * plan.rate // 1000
    return len(manifests)


def _check_manifest(document: dict, reference: Reference, number: int, wav: bytes) -> None:
    intervals = reference.intervals(number)
    segments = [(s, e) for state, s, e in intervals if state is CallState.RECORDING]
    pauses = [(s, e) for state, s, e in intervals if state is CallState.PAUSED]
    assert document["state"] == "closed"
    assert document["sha256"] == hashlib.sha256(wav).hexdigest()
    assert [(x["start"], x["end"]) for x in document["segments"]] == _iso(segments)
    assert [(x["start"], x["end"]) for x in document["pauses"]] == _iso(pauses)
    assert document["missing_samples"] == 0
    assert document["audio"] == "complete"
    recorded = sum(e - s for s, e in segments)
    wall = intervals[-1][2] - intervals[0][1]
    expected = recorded if reference.pause_behavior == "skip" else wall
    assert document["duration_ms"] == expected
    assert document["pause_behavior"] == reference.pause_behavior


def _iso(spans: list[tuple[int, int]]) -> list[tuple[str, str]]:
    return [(iso_millis(ms_to_datetime(s)), iso_millis(ms_to_datetime(e))) for s, e in spans]


@pytest.mark.parametrize("seed", range(8))
def test_recordings_hold_exactly_the_recorded_samples(rig: Rig, seed: int) -> None:
    rng = random.Random(seed)
    set_policies(rig.service)
    modes = list(Mode)
    plans = [plan_call(rng, f"call-{seed}-{n}", rng.randint(0, 3000), modes[n % len(modes)])
             for n in range(CALLS_PER_RUN)]
    issue(rig.service, plans)
    counts = drive(rig, rng, plans)
    recordings = sum(check_call(rig, plan) for plan in plans)
    references = {
        p.call_id: Reference(p.signal, p.behavior.value, rig.service.timeline(p.call_id))
        for p in plans
    }
    files = prove_no_unrecorded_sample(rig.ops, rig.segments_root, references)
    assert rig.desk.entries() == 0 and rig.desk.held_bytes() == 0  # every call finished
    assert counts["chunks"] > 0 and counts["before_start"] > 0 and files > recordings
