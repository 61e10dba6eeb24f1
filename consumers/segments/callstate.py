"""What the segment store knows of one call, saved as one small JSON document.

- `spans`: the call's states over media time, from the events applied so far
  (milliseconds; the last span is open until the next event);
- `known`: the tick up to which that state is final (the `at` of the last state
  change applied: a later command can never be dated before it), `FOREVER` once
  the call has ended;
- `decided`: every sample before this tick is decided for good (written,
  dropped, or missing and so silent); audio for earlier times is refused;
- `max_pause_ms`: the call's pause cap (from `CallStarted`; None: no cap). A capped
  pause still open when audio past its deadline is decided resumes at the deadline,
  as in the domain; the automatic `RecordingResumed` that follows changes nothing;
- `version`: the call's last event applied, so a re-delivered event is skipped;
- the recordings with their stored parts, the call's sample rate and the
  digests of recent chunks (to recognise a chunk sent twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from consumers.segments.audio import FOREVER, at_ms, ms_to_datetime, ms_to_ticks
from domain import published
from domain.call import pause_deadline
from domain.rules import CallState

RECORDING, PAUSED, OFF = CallState.RECORDING.value, CallState.PAUSED.value, CallState.OFF.value
# The domain's table of the state each event leaves a call in, as plain strings (CallEnded
# included: `change` handles it first, since an ended call has no open span).
STATE_AFTER = {kind: state.value for kind, state in published.STATE_AFTER.items()}


@dataclass
class Span:
    state: str
    start: int  # ms
    end: int | None
    recording_no: int | None


@dataclass
class Part:
    first: int  # sample index
    samples: int
    key: str


@dataclass
class Recording:
    no: int
    start: int  # ms
    end: int | None = None
    closed_by: str | None = None
    finalised: bool = False
    parts: list[Part] = field(default_factory=list)


@dataclass
class CallAudio:
    call_id: str
    org_id: str | None = None
    pause_behavior: str = "skip"
    max_pause_ms: int | None = None
    started: int | None = None  # ms
    ended: int | None = None  # ms
    version: int = 0
    known: int | None = None  # ticks
    decided: int | None = None  # ticks
    done: bool = False
    rate: int | None = None
    spans: list[Span] = field(default_factory=list)
    recordings: dict[int, Recording] = field(default_factory=dict)
    recent: dict[int, tuple[int, str]] = field(default_factory=dict)

    # -- applying events ----------------------------------------------------------

    def begin(self, org_id: str, pause_behavior: str, at: int, max_pause_ms: int | None) -> None:
        self.org_id, self.pause_behavior, self.started = org_id, pause_behavior, at
        self.max_pause_ms = max_pause_ms
        self.spans = [Span(OFF, at, None, None)]
        self.known = ms_to_ticks(at)

    def change(self, event_type: str, at: int, recording_no: int | None) -> None:
        """Apply a state change dated `at` (ms) that the call aggregate accepted."""
        if event_type == "CallEnded":
            self._close_span(at)
            for recording in self.recordings.values():
                self._close_recording(recording, at, event_type)
            self.ended, self.known = at, FOREVER
            return
        state = STATE_AFTER[event_type]
        if event_type == "RecordingStarted" and recording_no is not None:
            self.recordings[recording_no] = Recording(recording_no, at)
        if event_type == "RecordingStopped" and recording_no in self.recordings:
            self._close_recording(self.recordings[recording_no], at, event_type)
        self._close_span(at)
        self.spans.append(Span(state, at, None, None if state == OFF else recording_no))
        self.known = ms_to_ticks(at)

    def resume_if_due(self, cut: int) -> None:
        """Before deciding audio up to tick `cut`: an open capped pause whose deadline lies
        before it has ended by itself, at the deadline, with the same recording number."""
        deadline = self.pause_deadline()
        if deadline is not None and ms_to_ticks(deadline) < cut:
            self.change("RecordingResumed", deadline, self.spans[-1].recording_no)

    def resumed_by_itself(self, event_type: str, at: int) -> bool:
        """Whether the event is the automatic resume already applied at its deadline."""
        span = self.spans[-1] if self.spans else None
        return (event_type == "RecordingResumed" and span is not None and span.end is None
                and span.state == RECORDING and span.start == at)

    def pause_deadline(self) -> int | None:
        """When the open pause ends by itself (ms; None: not paused, or no cap)."""
        span = self.spans[-1] if self.spans else None
        if span is None or span.end is not None or span.state != PAUSED:
            return None
        deadline = pause_deadline(ms_to_datetime(span.start), self.max_pause_ms)
        return None if deadline is None else at_ms(deadline)

    def _close_span(self, at: int) -> None:
        if self.spans and self.spans[-1].end is None:
            self.spans[-1].end = at

    @staticmethod
    def _close_recording(recording: Recording, at: int, by: str) -> None:
        if recording.end is None:
            recording.end, recording.closed_by = at, by

    # -- questions ----------------------------------------------------------------

    def recording_ranges(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """(recording_no, first tick, end tick) of the recorded time within [lo, hi) ticks."""
        ranges = []
        for span in self.spans:
            if span.state != RECORDING or span.recording_no is None:
                continue
            start = ms_to_ticks(span.start)
            end = FOREVER if span.end is None else ms_to_ticks(span.end)
            first, last = max(start, lo), min(end, hi)
            if first < last:
                ranges.append((span.recording_no, first, last))
        return ranges

    def closing(self) -> list[Recording]:
        """Recordings closed by an event but not yet written out."""
        return [r for r in self.recordings.values() if r.end is not None and not r.finalised]

    def spans_of(self, recording_no: int, state: str) -> list[Span]:
        return [s for s in self.spans if s.recording_no == recording_no and s.state == state]

    # -- storage --------------------------------------------------------------------

    def to_json(self) -> bytes:
        document = {
            "call_id": self.call_id,
            "org_id": self.org_id,
            "pause_behavior": self.pause_behavior,
            "max_pause_ms": self.max_pause_ms,
            "started": self.started,
            "ended": self.ended,
            "version": self.version,
            "known": self.known,
            "decided": self.decided,
            "done": self.done,
            "rate": self.rate,
            "spans": [[s.state, s.start, s.end, s.recording_no] for s in self.spans],
            "recordings": [_recording_json(r) for r in self.recordings.values()],
            "recent": [[first, n, digest] for first, (n, digest) in sorted(self.recent.items())],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CallAudio:
        d = json.loads(raw)
        recordings = [_recording_of(r) for r in d["recordings"]]
        return cls(
            call_id=d["call_id"],
            org_id=d["org_id"],
            pause_behavior=d["pause_behavior"],
            max_pause_ms=d.get("max_pause_ms"),  # absent in states saved before caps
            started=d["started"],
            ended=d["ended"],
            version=d["version"],
            known=d["known"],
            decided=d["decided"],
            done=d["done"],
            rate=d["rate"],
            spans=[Span(*s) for s in d["spans"]],
            recordings={r.no: r for r in recordings},
            recent={first: (n, digest) for first, n, digest in d["recent"]},
        )


def _recording_json(r: Recording) -> dict[str, Any]:
    return {
        "no": r.no,
        "start": r.start,
        "end": r.end,
        "closed_by": r.closed_by,
        "finalised": r.finalised,
        "parts": [[p.first, p.samples, p.key] for p in r.parts],
    }


def _recording_of(d: dict[str, Any]) -> Recording:
    parts = [Part(*p) for p in d["parts"]]
    return Recording(d["no"], d["start"], d["end"], d["closed_by"], d["finalised"], parts)
