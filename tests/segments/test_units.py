"""Small pieces: the media time grid, WAV framing, held audio, call state round trips."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from consumers.segments.audio import (
    EPOCH,
    FOREVER,
    first_sample,
    samples_in,
    ticks_to_ms_ceiling,
    wav_header,
)
from consumers.segments.callstate import CallAudio, Part, Recording, Span
from consumers.segments.held import HeldAudio

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MS = 1_772_355_600_000  # T in milliseconds since the epoch


def test_sample_boundaries_fall_on_milliseconds() -> None:
    assert first_sample(T, 8000) == MS * 8
    assert first_sample(T, 16000) == MS * 16
    # An interval [start, end) of d ms holds d * rate / 1000 samples, whatever its start.
    assert samples_in(MS + 3, MS + 10, 8000) == ((MS + 3) * 8, (MS + 10) * 8)
    assert samples_in(MS + 3, MS + 10, 16000) == ((MS + 3) * 16, (MS + 10) * 16)


@pytest.mark.parametrize("index", [0, 1, 2, 3, 15, 16, 17])
def test_a_chunk_time_cut_to_microseconds_finds_its_sample(index: int) -> None:
    for rate in (8000, 16000):
        exact = MS * rate // 1000 + index
        cut = EPOCH + timedelta(microseconds=exact * 1_000_000 // rate)  # x.5 us cut to x
        assert first_sample(cut, rate) == exact


def test_nearest_sample_and_ceiling() -> None:
    assert first_sample(T + timedelta(microseconds=62), 8000) == MS * 8  # 0.5 of 125 us: down
    assert first_sample(T + timedelta(microseconds=63), 8000) == MS * 8 + 1
    assert ticks_to_ms_ceiling(16 * MS) == MS
    assert ticks_to_ms_ceiling(16 * MS + 1) == MS + 1
    with pytest.raises(ValueError, match="offset"):
        first_sample(T.replace(tzinfo=None), 8000)
    with pytest.raises(ValueError, match="rate"):
        first_sample(T, 44100)


def test_wav_header() -> None:
    header = wav_header(16000, 320)
    assert len(header) == 44
    assert header[:4] == b"RIFF" and header[8:16] == b"WAVEfmt "
    channels, rate, byte_rate, align, bits = struct.unpack("<HIIHH", header[22:36])
    assert (channels, rate, byte_rate, align, bits) == (1, 16000, 32000, 2, 16)
    assert struct.unpack("<I", header[40:44]) == (320,)
    assert struct.unpack("<I", header[4:8]) == (36 + 320,)


def pcm(first: int, count: int) -> bytes:
    return struct.pack(f"<{count}h", *range(first, first + count))


def test_held_audio_runs() -> None:
    held = HeldAudio()
    held.add(10, pcm(10, 5))
    held.add(15, pcm(15, 5))  # continues the run
    held.add(30, pcm(30, 5))
    assert held.nbytes == 30
    assert held.overlaps(12, 13) and held.overlaps(5, 11) and not held.overlaps(20, 30)
    assert held.holds(19) and not held.holds(20)
    assert held.take(12, 32) == [(12, pcm(12, 8)), (30, pcm(30, 2))]
    assert held.reach(100) == 35 and held.reach(25) == 20 and held.reach(10) is None
    with pytest.raises(ValueError):
        held.add(18, pcm(18, 4))
    assert held.drop_before(17) == 14
    assert held.earliest() == 17 and held.take(0, 100)[0] == (17, pcm(17, 3))
    assert held.drop_before(40) == 16 and not held and held.nbytes == 0


def test_call_state_round_trip() -> None:
    audio = CallAudio("c1", org_id="o", pause_behavior="silence", rate=16000)
    audio.begin("o", "silence", MS, 1_500)
    audio.change("RecordingStarted", MS + 5, 1)
    audio.change("RecordingPaused", MS + 9, 1)
    audio.recordings[1].parts.append(Part(3, 4, "o/c1/1/parts/3.pcm"))
    audio.recent[3] = (4, "abc")
    audio.decided = 12
    again = CallAudio.from_json(audio.to_json())
    assert again == audio
    assert again.recordings[1] == Recording(1, MS + 5, parts=[Part(3, 4, "o/c1/1/parts/3.pcm")])
    assert audio.recording_ranges(0, 16 * (MS + 100)) == [(1, 16 * (MS + 5), 16 * (MS + 9))]
    assert again.pause_deadline() == MS + 9 + 1_500


def test_a_capped_pause_resumes_at_its_deadline_once() -> None:
    audio = CallAudio("c1")
    audio.begin("o", "skip", MS, 1_500)
    audio.change("RecordingStarted", MS, 1)
    audio.change("RecordingPaused", MS + 10, 1)
    deadline = MS + 1_510
    audio.resume_if_due(16 * deadline)  # deciding up to the deadline: still paused
    assert audio.pause_deadline() == deadline
    audio.resume_if_due(16 * deadline + 1)
    assert audio.pause_deadline() is None
    assert audio.spans[-1] == Span("recording", deadline, None, 1)
    assert audio.resumed_by_itself("RecordingResumed", deadline)
    assert not audio.resumed_by_itself("RecordingPaused", deadline)
    uncapped = CallAudio("c2")
    uncapped.begin("o", "skip", MS, None)
    uncapped.change("RecordingStarted", MS, 1)
    uncapped.change("RecordingPaused", MS + 10, 1)
    uncapped.resume_if_due(FOREVER - 1)
    assert uncapped.pause_deadline() is None and uncapped.spans[-1].state == "paused"
