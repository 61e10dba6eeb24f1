"""Deciding held audio: which samples are written, which are dropped, and how far.

A held sample is decided once the call's state at its time is final: either
the consumer has applied a state change dated after it (`known`), or the
lateness bound has passed and the store has claimed that time (`force`).
Samples in a `recording` interval go to their recording's pending writes;
all others are dropped. Nothing here touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consumers.segments.audio import FOREVER, TICKS_PER_SECOND, ms_to_ticks
from consumers.segments.callstate import CallAudio
from consumers.segments.held import HeldAudio, Run

NEVER = -FOREVER
RECENT_MAX = 128  # digests of decided chunks kept with a call's state


@dataclass
class Entry:
    """One call in memory: its saved state, its held audio and its decided, unwritten runs."""

    audio: CallAudio
    held: HeldAudio = field(default_factory=HeldAudio)
    writes: dict[int, list[Run]] = field(default_factory=dict)
    # Digests of chunks not yet decided, by first sample (memory only: after a restart
    # such a chunk is simply new again). Decided ones move to `audio.recent`.
    digests: dict[int, tuple[int, str]] = field(default_factory=dict)

    def digest_of(self, first: int) -> tuple[int, str] | None:
        return self.audio.recent.get(first) or self.digests.get(first)

    @property
    def decided(self) -> int:
        return NEVER if self.audio.decided is None else self.audio.decided


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def decide(entry: Entry, cut: int, *, forced: bool, dedup_window_ms: int) -> bool:
    """Decide the held samples before tick `cut`. Returns whether anything changed.

    Unforced, the decided point moves to the end of the audio actually decided
    (so audio still on its way for a later time is not refused); forced, it
    moves to `cut` whatever arrived.
    """
    audio, lo = entry.audio, entry.decided
    if cut <= lo or audio.started is None:
        return False
    audio.resume_if_due(cut)
    reached = lo
    if audio.rate is not None and entry.held:
        per = TICKS_PER_SECOND // audio.rate
        for recording_no, first, end in audio.recording_ranges(lo, cut):
            runs = entry.held.take(ceil_div(first, per), ceil_div(end, per))
            if runs:
                entry.writes.setdefault(recording_no, []).extend(runs)
        reach = entry.held.reach(ceil_div(cut, per))
        if reach is not None:
            reached = max(lo, min(reach * per, cut))
    if forced:
        reached = cut
    if reached <= lo:
        return False
    audio.decided = reached
    _remember_decided(entry, dedup_window_ms)
    return True


def _remember_decided(entry: Entry, window_ms: int) -> None:
    """Keep the digests of chunks decided in the last `window_ms` (at most RECENT_MAX)
    with the call's state, so a chunk sent again is still recognised after a restart."""
    audio = entry.audio
    if audio.rate is None or audio.decided is None:
        return
    per = TICKS_PER_SECOND // audio.rate
    for first, item in entry.digests.items():
        if first * per < audio.decided:
            audio.recent[first] = item
    horizon = (audio.decided - ms_to_ticks(window_ms)) // per
    kept = sorted((f, i) for f, i in audio.recent.items() if f + i[0] > horizon)
    audio.recent = dict(kept[-RECENT_MAX:])


def forget_decided_digests(entry: Entry) -> None:
    """Once a round is stored, the undecided digests no longer need the decided ones."""
    if entry.audio.rate is None:
        return
    per = TICKS_PER_SECOND // entry.audio.rate
    entry.digests = {f: i for f, i in entry.digests.items() if f * per >= entry.decided}


def settle(entry: Entry) -> list[int]:
    """Recordings whose audio is now all decided, and the call's end if it is reached."""
    audio = entry.audio
    ready = [r.no for r in audio.closing() if entry.decided >= ms_to_ticks(r.end or 0)]
    if audio.ended is not None and entry.decided >= ms_to_ticks(audio.ended):
        audio.done, audio.decided, audio.recent = True, FOREVER, {}
    return ready


def overdue(entry: Entry, cut: int) -> bool:
    """Whether held audio before `cut` lies beyond the known state, so that deciding it
    needs a claim (the only case that can make a later command `too_late`)."""
    audio = entry.audio
    if audio.started is None or audio.done or entry.decided >= cut or audio.rate is None:
        return False
    earliest = entry.held.earliest()
    return earliest is not None and earliest * (TICKS_PER_SECOND // audio.rate) < cut
