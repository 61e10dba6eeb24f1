"""Admitting a chunk of audio into a call's held audio, or saying precisely why not.

Checks, in order: the call is not done (409 call_ended), the rate is the
call's (409 rate_mismatch), the chunk is not from the future (409
future_timestamp), it does not start before the call did (409
audio_before_call), it is an exact repeat (accepted, changes nothing), it does
not overlap decided or held audio (409 audio_overlap), it fits the memory
bounds (413 chunk_too_large, 429 audio_backlog_full). Nothing is held unless
every check passes, so no chunk is ever accepted that no state could keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consumers.segments.audio import (
    SAMPLE_BYTES,
    chunk_digest,
    first_sample,
    ticks_per_sample,
    ticks_to_datetime,
)
from consumers.segments.decide import Entry, ceil_div
from consumers.segments.errors import (
    AudioBeforeCall,
    AudioOverlap,
    BacklogFull,
    CallAudioEnded,
    ChunkTooLarge,
    FutureAudio,
    RateMismatch,
)
from consumers.segments.held import Budget
from domain.clock import iso_millis


@dataclass(frozen=True)
class Chunk:
    first: int  # sample index at `rate`
    rate: int
    pcm: bytes
    digest: str

    @classmethod
    def of(cls, at: datetime, rate: int, pcm: bytes) -> Chunk:
        ticks_per_sample(rate)  # refuses an unsupported rate
        return cls(first_sample(at, rate), rate, pcm, chunk_digest(pcm))

    @property
    def samples(self) -> int:
        return len(self.pcm) // SAMPLE_BYTES

    @property
    def per(self) -> int:
        return ticks_per_sample(self.rate)

    @property
    def start(self) -> datetime:
        return ticks_to_datetime(self.first * self.per)


@dataclass(frozen=True)
class Bounds:
    per_call: int
    budget: Budget
    latest: int  # the last tick a chunk may reach (server clock plus skew)
    earliest: int | None = None  # the first tick a chunk may start at (the call's start)


def admit(entry: Entry, chunk: Chunk, bounds: Bounds) -> bool:
    """Hold the chunk; returns True if it was an exact repeat (then nothing changes)."""
    audio = entry.audio
    if audio.done:
        raise CallAudioEnded(f"call {audio.call_id!r} has ended and all its audio is decided")
    if audio.rate is not None and audio.rate != chunk.rate:
        raise RateMismatch(f"call {audio.call_id!r} streams at {audio.rate} Hz, "
                           f"not {chunk.rate} Hz")
    _check_future(chunk, bounds.latest)
    _check_started(chunk, bounds.earliest)
    if entry.digest_of(chunk.first) == (chunk.samples, chunk.digest):
        _hold_again(entry, chunk, bounds)
        return True
    _check_overlap(entry, chunk)
    _reserve(entry, len(chunk.pcm), bounds)
    audio.rate = chunk.rate
    entry.held.add(chunk.first, chunk.pcm)
    entry.digests[chunk.first] = (chunk.samples, chunk.digest)
    return False


def _check_future(chunk: Chunk, latest: int) -> None:
    last = (chunk.first + chunk.samples - 1) * chunk.per
    if last > latest:
        raise FutureAudio(
            f"the chunk reaches {iso_millis(ticks_to_datetime(last))}, later than "
            f"the server clock allows ({iso_millis(ticks_to_datetime(latest))})"
        )


def _check_started(chunk: Chunk, earliest: int | None) -> None:
    if earliest is not None and chunk.first * chunk.per < earliest:
        raise AudioBeforeCall(
            f"the chunk starts at {iso_millis(chunk.start)}, before the call started "
            f"({iso_millis(ticks_to_datetime(earliest))}); audio is kept only from the "
            f"call's start"
        )


def _check_overlap(entry: Entry, chunk: Chunk) -> None:
    if chunk.first * chunk.per < entry.decided:
        raise AudioOverlap(
            f"audio of this call is already decided up to "
            f"{iso_millis(ticks_to_datetime(entry.decided))}; the chunk starts at "
            f"{iso_millis(chunk.start)}"
        )
    if entry.held.overlaps(chunk.first, chunk.first + chunk.samples):
        raise AudioOverlap("the chunk overlaps audio already received for that time "
                           "(only an identical chunk at the same time may be sent again)")


def _hold_again(entry: Entry, chunk: Chunk, bounds: Bounds) -> None:
    """A chunk sent again: hold whatever of it is undecided and no longer held
    (lost by a restart); otherwise it changes nothing."""
    start = max(chunk.first, ceil_div(entry.decided, chunk.per))
    tail = chunk.pcm[(start - chunk.first) * SAMPLE_BYTES :]
    if not tail or entry.held.holds(start):
        return
    if entry.held.overlaps(start, start + len(tail) // SAMPLE_BYTES):
        raise AudioOverlap("the chunk overlaps other audio received since it was first sent")
    _reserve(entry, len(tail), bounds)
    entry.held.add(start, tail)


def _reserve(entry: Entry, nbytes: int, bounds: Bounds) -> None:
    limit, budget = bounds.per_call, bounds.budget
    if nbytes > limit:
        raise ChunkTooLarge(f"a chunk may hold at most {limit} bytes, this one has {nbytes}")
    if entry.held.nbytes + nbytes > limit:
        raise BacklogFull(
            f"call {entry.audio.call_id!r} already holds {entry.held.nbytes} bytes of audio "
            f"waiting for its recording state (at most {limit}); retry once it is decided"
        )
    if not budget.fits(nbytes):
        raise BacklogFull(
            f"the server holds {budget.used} bytes of audio waiting for recording "
            f"states (at most {budget.limit}); retry shortly"
        )
    budget.reserve(nbytes)
