"""A call's timeline: contiguous intervals of recording, paused and off.

The call aggregate keeps one of these up to date as it applies its events, and
the projections rebuild the same thing from the published events. Keeping the
arithmetic here means both sides agree by construction, and the tests compare
them interval by interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.rules import CallState

NOT_STARTED = "not_started"
STOPPED = "stopped"


def millis_between(start: datetime, end: datetime) -> int:
    return round((end - start).total_seconds() * 1000)


@dataclass(frozen=True)
class Interval:
    state: CallState
    start: datetime
    end: datetime | None
    recording_no: int | None
    reason: str | None

    @property
    def duration_ms(self) -> int | None:
        return None if self.end is None else millis_between(self.start, self.end)


@dataclass(frozen=True)
class Rejection:
    command: str
    at: datetime
    code: str
    by: str


@dataclass
class Timeline:
    intervals: list[Interval] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def open(self, state: CallState, at: datetime, recording_no: int | None) -> None:
        """Close the open interval (if any) at `at` and open one in `state`."""
        self.close(at)
        reason = None
        if state is CallState.OFF:
            reason = STOPPED if recording_no else NOT_STARTED
            recording_no = None
        self.intervals.append(Interval(state, at, None, recording_no, reason))

    def close(self, at: datetime) -> None:
        if self.intervals and self.intervals[-1].end is None:
            self.intervals[-1] = replace(self.intervals[-1], end=at)

    def reject(self, rejection: Rejection) -> None:
        self.rejected.append(rejection)

    def totals(self) -> dict[CallState, int]:
        totals = {CallState.RECORDING: 0, CallState.PAUSED: 0, CallState.OFF: 0}
        for interval in self.intervals:
            totals[interval.state] += interval.duration_ms or 0
        return totals
