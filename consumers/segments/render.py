"""A recording's audio and manifest, rendered from its call's spans and stored parts.

The audio of recording n is time-aligned, at the call's rate:
- `skip`: its recording intervals one after the other;
- `silence`: its whole wall span, from its start to its stop (or the call's end),
  with every pause as silence of the same length.
Samples of a recording interval that never arrived before being decided are
silence too, and are counted as `missing_samples`; the manifest's `audio` says
whether all of them arrived (`complete`), some (`partial`) or none (`none`). A
recording closed before its call sent any audio is all silence at the default
rate, so its file is as long as its manifest says, like every other one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from consumers.segments.audio import (
    DEFAULT_RATE,
    FOREVER,
    SAMPLE_BYTES,
    TICKS_PER_SECOND,
    ms_to_datetime,
    samples_in,
)
from consumers.segments.callstate import PAUSED, RECORDING, CallAudio, Part, Recording
from consumers.segments.port import Silence
from domain.clock import iso_millis

ZERO_PIECE = 1 << 18
_SILENCE = Silence(ZERO_PIECE)  # every whole piece of silence is this one object
ReadPart = Callable[[Part], bytes]


def rate_of(audio: CallAudio) -> int:
    return audio.rate or DEFAULT_RATE


def sample_ranges(audio: CallAudio, recording: Recording, upto: int) -> list[tuple[int, int]]:
    """The sample ranges that make up the audio, as far as `upto` (ticks) is decided."""
    rate = rate_of(audio)
    limit = upto // (TICKS_PER_SECOND // rate) if upto < FOREVER else FOREVER
    if audio.pause_behavior == "silence":
        pieces = [(recording.start, recording.end)]
    else:
        pieces = [(s.start, s.end) for s in audio.spans_of(recording.no, RECORDING)]
    ranges = []
    for start, end in pieces:
        first, last = samples_in(start, end if end is not None else start, rate)
        if end is None:
            last = limit
        last = min(last, limit)
        if first < last:
            ranges.append((first, last))
    return ranges


def pcm(ranges: list[tuple[int, int]], parts: list[Part], read: ReadPart) -> Iterator[bytes]:
    """The samples of `ranges` from `parts`, with silence where no part covers them."""
    ordered = sorted(parts, key=lambda p: p.first)
    for first, end in ranges:
        at = first
        for part in ordered:
            lo, hi = max(part.first, at), min(part.first + part.samples, end)
            if lo >= hi:
                continue
            yield from _silence(lo - at)
            data = read(part)
            yield data[(lo - part.first) * SAMPLE_BYTES : (hi - part.first) * SAMPLE_BYTES]
            at = hi
        yield from _silence(end - at)


def _silence(samples: int) -> Iterator[bytes]:
    whole, rest = divmod(samples * SAMPLE_BYTES, ZERO_PIECE)
    for _ in range(whole):
        yield _SILENCE
    if rest > 0:
        yield Silence(rest)


def covered(first: int, end: int, parts: list[Part]) -> int:
    return sum(
        max(0, min(p.first + p.samples, end) - max(p.first, first)) for p in parts
    )


def manifest(
    audio: CallAudio, recording: Recording, *, sha256: str | None, data_bytes: int | None
) -> dict[str, Any]:
    closed = recording.finalised
    rate = rate_of(audio) if closed else audio.rate  # closed: the rate of its WAV file
    segments = [_span_json(s.start, s.end, rate, recording.parts, closed)
                for s in audio.spans_of(recording.no, RECORDING)]
    missing = sum(s["missing_samples"] or 0 for s in segments) if closed else None
    pauses = [_span_json(s.start, s.end, rate, [], False)
              for s in audio.spans_of(recording.no, PAUSED)]
    recorded = sum(s["duration_ms"] or 0 for s in segments)
    paused = sum(p["duration_ms"] or 0 for p in pauses)
    duration = None
    if closed:
        duration = recorded if audio.pause_behavior == "skip" else recorded + paused
    return {
        "call_id": audio.call_id,
        "org_id": audio.org_id,
        "recording_no": recording.no,
        "state": "closed" if closed else "open",
        "start": iso_millis(ms_to_datetime(recording.start)),
        "end": _iso(recording.end),
        "closed_by": recording.closed_by,
        "pause_behavior": audio.pause_behavior,
        "rate": rate,  # null: open, and the call has sent no audio yet
        "audio": _completeness(segments, missing),
        "segments": segments,
        "pauses": [{k: p[k] for k in ("start", "end", "duration_ms")} for p in pauses],
        "duration_ms": duration,
        "recorded_ms": recorded,
        "paused_ms": paused,
        "samples": data_bytes // SAMPLE_BYTES if data_bytes is not None else None,
        "missing_samples": missing,
        "bytes": data_bytes,
        "sha256": sha256,
    }


def _completeness(segments: list[dict[str, Any]], missing: int | None) -> str | None:
    """How much of the recorded time's audio arrived: all, some or none (open: not known)."""
    if missing is None:
        return None
    if missing == 0:
        return "complete"
    return "none" if missing == sum(s["samples"] for s in segments) else "partial"


def _span_json(
    start: int, end: int | None, rate: int | None, parts: list[Part], closed: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start": iso_millis(ms_to_datetime(start)),
        "end": _iso(end),
        "duration_ms": None if end is None else end - start,
    }
    if end is not None and closed and rate is not None:
        first, last = samples_in(start, end, rate)
        body["samples"] = last - first
        body["missing_samples"] = last - first - covered(first, last, parts)
    else:
        body["samples"] = body["missing_samples"] = None
    return body


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso_millis(ms_to_datetime(ms))
