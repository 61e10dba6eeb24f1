"""A call's timeline: contiguous intervals of recording, paused and off.

The call aggregate keeps one of these up to date as it applies its events; it
is the reference. The projections rebuild the same intervals from the published
events with their own code (plain lists of epoch milliseconds, for speed), so
nothing here makes them agree by itself. What they share is the table of the
state each event leaves a call in (`domain.published.STATE_AFTER`), the
reasons of an `off` interval (`NOT_STARTED`, `STOPPED`) and who opened an
interval (`opened_by`); that the rest of the arithmetic matches is checked by
the tests, which compare the projected timelines with this one interval by
interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.rules import CallState

NOT_STARTED = "not_started"
STOPPED = "stopped"
# Who opened an interval that no command opened: a recording that started with the call.
SYSTEM = "system"


def opened_by(by: str, automatic: bool | None) -> str:
    """Who opened the interval an event opens: its actor, or SYSTEM if it was automatic.

    The first `off` interval is opened by the call's start, so by whoever started the call.
    """
    return SYSTEM if automatic else by


def millis_between(start: datetime, end: datetime) -> int:
    return round((end - start).total_seconds() * 1000)


@dataclass(frozen=True)
class Interval:
    state: CallState
    start: datetime
    end: datetime | None
    recording_no: int | None
    reason: str | None
    # The actor whose command opened the interval (SYSTEM for an automatic start). None only
    # in projections of intervals stored before the actor was kept (a rebuild fills it in).
    by: str | None

    @property
    def duration_ms(self) -> int | None:
        return None if self.end is None else millis_between(self.start, self.end)


@dataclass(frozen=True)
class Rejection:
    command: str
    at: datetime
    code: str
    by: str


@dataclass(frozen=True)
class Holding:
    """One agent's span of having the call: from the start or a transfer to it, until a
    transfer away or the end (None while it still has the call)."""

    agent_id: str
    start: datetime
    end: datetime | None


@dataclass
class Timeline:
    intervals: list[Interval] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # Who had the call when: contiguous spans from the start, one per holder, in order.
    agents: list[Holding] = field(default_factory=list)

    def hand_to(self, agent_id: str, at: datetime) -> None:
        """The call passes to `agent_id` at `at` (its start, or a transfer)."""
        self._release(at)
        self.agents.append(Holding(agent_id, at, None))

    def finish(self, at: datetime) -> None:
        """The call ends at `at`: the open interval and the current holder's span close."""
        self.close(at)
        self._release(at)

    def _release(self, at: datetime) -> None:
        # Built anew rather than with `dataclasses.replace`, which costs several times
        # more: every command closes an interval.
        if self.agents and (last := self.agents[-1]).end is None:
            self.agents[-1] = Holding(last.agent_id, last.start, at)

    def open(self, state: CallState, at: datetime, recording_no: int | None, by: str) -> None:
        """Close the open interval (if any) at `at` and open one in `state`, opened `by`."""
        self.close(at)
        reason = None
        if state is CallState.OFF:
            reason = STOPPED if recording_no else NOT_STARTED
            recording_no = None
        self.intervals.append(Interval(state, at, None, recording_no, reason, by))

    def close(self, at: datetime) -> None:
        if self.intervals and (last := self.intervals[-1]).end is None:
            self.intervals[-1] = Interval(last.state, last.start, at, last.recording_no,
                                          last.reason, last.by)

    def reject(self, rejection: Rejection) -> None:
        self.rejected.append(rejection)
