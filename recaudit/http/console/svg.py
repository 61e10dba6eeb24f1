"""The call's timeline as a picture: the geometry of an SVG drawn on the server.

Spans of recording, paused and off on a time axis from the call's start to its end (or
now, while it runs), refused commands as marks above them, transfers and automatic
resumes as marks below. Every span and mark carries the exact times and actors as its
text; the template (`templates/call/timeline.html`) draws it, escaping that text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.clock import iso_millis
from domain.rules import CallState
from domain.timeline import SYSTEM, Interval
from recaudit.core.views import TimelineView

WIDTH, HEIGHT = 960, 110
LEFT, RIGHT = 12, 12
BAR_Y, BAR_H = 28, 36
TICKS = 6


@dataclass(frozen=True)
class Span:
    state: str
    x: float
    width: float
    text: str


@dataclass(frozen=True)
class Mark:
    kind: str  # "refusal", "transfer" or "auto"
    x: float
    text: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    bar_y: int
    bar_h: int
    spans: tuple[Span, ...]
    marks: tuple[Mark, ...]
    ticks: tuple[Tick, ...]
    text: str


class Axis:
    """Times from `start` to `end` onto x from LEFT to WIDTH - RIGHT."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.ms = max(1.0, (end - start) / timedelta(milliseconds=1))

    def x(self, at: datetime) -> float:
        share = (at - self.start) / timedelta(milliseconds=1) / self.ms
        return round(LEFT + min(1.0, max(0.0, share)) * (WIDTH - LEFT - RIGHT), 2)


def draw(view: TimelineView, now: datetime) -> Picture:
    end = view.ended_at or max([now, *(i.start for i in view.intervals),
                                *(r.at for r in view.rejected)])
    axis = Axis(view.started_at, end)
    spans = tuple(_span(axis, i, end) for i in view.intervals)
    marks = (*_refusals(axis, view), *_transfers(axis, view), *_automatic(axis, view))
    ticks = tuple(_tick(axis, view.started_at + (end - view.started_at) * k / (TICKS - 1))
                  for k in range(TICKS))
    text = (f"Timeline of call {view.call_id}: {len(spans)} intervals from "
            f"{iso_millis(view.started_at)} to "
            f"{iso_millis(view.ended_at) if view.ended_at else 'now (running)'}")
    return Picture(WIDTH, HEIGHT, BAR_Y, BAR_H, spans, tuple(marks), ticks, text)


def _span(axis: Axis, interval: Interval, end: datetime) -> Span:
    x0, x1 = axis.x(interval.start), axis.x(interval.end or end)
    until = iso_millis(interval.end) if interval.end else "now (open)"
    length = f" ({interval.duration_ms} ms)" if interval.duration_ms is not None else ""
    why = f", {interval.reason.replace('_', ' ')}" if interval.reason else ""
    by = f", opened by {interval.by}" if interval.by else ""
    text = f"{interval.state.value}{why}: {iso_millis(interval.start)} to {until}{length}{by}"
    return Span(interval.state.value, x0, round(max(x1 - x0, 0.5), 2), text)


def _refusals(axis: Axis, view: TimelineView) -> list[Mark]:
    return [Mark("refusal", axis.x(r.at),
                 f"refused {r.command} at {iso_millis(r.at)} by {r.by}: {r.code}")
            for r in view.rejected]


def _transfers(axis: Axis, view: TimelineView) -> list[Mark]:
    return [Mark("transfer", axis.x(h.start),
                 f"transferred to {h.agent_id} at {iso_millis(h.start)}")
            for h in view.agents[1:]]


def _automatic(axis: Axis, view: TimelineView) -> list[Mark]:
    pairs = zip(view.intervals, view.intervals[1:], strict=False)
    return [Mark("auto", axis.x(after.start),
                 f"resumed automatically at {iso_millis(after.start)} (the pause reached "
                 f"its cap)")
            for before, after in pairs
            if before.state is CallState.PAUSED and after.state is CallState.RECORDING
            and after.by == SYSTEM]


def _tick(axis: Axis, at: datetime) -> Tick:
    return Tick(axis.x(at), at.strftime("%H:%M:%S"))
