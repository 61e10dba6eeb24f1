"""Immutable read models of the aggregates, and their JSON as the contract gives it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.call import Call
from domain.clock import iso_millis
from domain.lifecycle import Hold, Retention
from domain.policy import Change, OverrideRemoval, Policy, Setting
from domain.rules import INDICATOR, CallState, Mode, PauseBehavior, allowed_actions
from domain.timeline import Holding, Interval, Rejection


@dataclass(frozen=True)
class CallStatus:
    call_id: str
    org_id: str
    agent_id: str
    direction: str
    mode: Mode
    pause_behavior: PauseBehavior
    policy_version: int
    state: CallState
    recording_no: int
    version: int
    started_at: datetime
    ended_at: datetime | None
    pause_deadline: datetime | None = None
    legal_hold: bool = False

    @classmethod
    def of(cls, call: Call, policy: Policy | None = None) -> CallStatus:
        """The call's status; `policy`: its organisation's, whose holds say `legal_hold`."""
        # Most organisations hold nothing: then no call's holders need to be worked out.
        held = (policy is not None and bool(policy.holds)
                and bool(policy.holds_on(call.call_id, call.holders)))
        return cls(
            call_id=call.call_id,
            org_id=call.org_id,
            agent_id=call.agent_id,
            direction=call.direction,
            mode=call.mode,
            pause_behavior=call.pause_behavior,
            policy_version=call.policy_version,
            state=call.state,
            recording_no=call.recording_no,
            version=call.version,
            started_at=call.started_at,
            ended_at=call.ended_at,
            pause_deadline=call.pause_deadline,
            legal_hold=held,
        )

    def to_json(self, position: int | None) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "org_id": self.org_id,
            "agent_id": self.agent_id,
            "direction": self.direction,
            "mode": self.mode.value,
            "pause_behavior": self.pause_behavior.value,
            "policy_version": self.policy_version,
            "state": self.state.value,
            "indicator": INDICATOR[self.state],
            "actions": [c.value for c in allowed_actions(self.mode, self.state)],
            "recording_no": self.recording_no or None,
            "started_at": iso_millis(self.started_at),
            "ended_at": iso_millis(self.ended_at) if self.ended_at else None,
            "pause_deadline": iso_millis(self.pause_deadline) if self.pause_deadline else None,
            "legal_hold": self.legal_hold,
            "version": self.version,
            "position": position,
        }


@dataclass(frozen=True)
class CallSummary:
    """One row of the list of calls: who, when, how long, and how it was recorded."""

    call_id: str
    org_id: str
    agent_id: str
    mode: Mode
    state: CallState
    started_at: datetime
    ended_at: datetime | None
    recording_ms: int
    paused_ms: int
    off_ms: int
    refusals: int
    longest_pause_ms: int
    legal_hold: bool = False

    @property
    def duration_ms(self) -> int | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at) // timedelta(milliseconds=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "org_id": self.org_id,
            "agent_id": self.agent_id,
            "mode": self.mode.value,
            "state": self.state.value,
            "started_at": iso_millis(self.started_at),
            "ended_at": iso_millis(self.ended_at) if self.ended_at else None,
            "duration_ms": self.duration_ms,
            "recording_ms": self.recording_ms,
            "paused_ms": self.paused_ms,
            "off_ms": self.off_ms,
            "refusals": self.refusals,
            "longest_pause_ms": self.longest_pause_ms,
            "legal_hold": self.legal_hold,
        }


@dataclass(frozen=True)
class PolicySnapshot:
    org_id: str
    version: int
    org_setting: Setting | None
    overrides: tuple[tuple[str, Setting], ...]
    history: tuple[Change, ...]
    retention: tuple[Retention, ...] = ()

    @classmethod
    def of(cls, policy: Policy) -> PolicySnapshot:
        return cls(
            org_id=policy.org_id,
            version=policy.version,
            org_setting=policy.org_setting,
            overrides=tuple(sorted(policy.overrides.items())),
            history=tuple(policy.history),
            retention=tuple(policy.retention_history),
        )

    def to_json(self) -> dict[str, Any]:
        org = self.org_setting
        return {
            "org_id": self.org_id,
            "mode": org.mode.value if org else None,
            "pause_behavior": org.pause_behavior.value if org else None,
            "max_pause_ms": org.max_pause_ms if org else None,
            "version": self.version,
            "overrides": {agent: setting_json(s) for agent, s in self.overrides},
            "history": [setting_json(s) for s in self.history],
            "retention": {
                "audio_days": self.retention[-1].audio_days if self.retention else None,
                "history": [retention_json(r) for r in self.retention],
            },
        }


def retention_json(retention: Retention) -> dict[str, Any]:
    return {
        "audio_days": retention.audio_days, "changed_by": retention.changed_by,
        "reason": retention.reason, "at": iso_millis(retention.at),
        "version": retention.version,
    }


def hold_json(hold: Hold) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return None if value is None else iso_millis(value)

    return {
        "hold_id": hold.hold_id, "org_id": hold.org_id, "call_id": hold.call_id,
        "agent_id": hold.agent_id, "case": hold.case, "reason": hold.reason,
        "placed_by": hold.placed_by, "placed_at": iso_millis(hold.placed_at),
        "released_by": hold.released_by, "released_at": at(hold.released_at),
        "release_reason": hold.release_reason, "active": hold.active,
    }


def setting_json(setting: Change) -> dict[str, Any]:
    """A setting, or the removal of an override (no mode, and `removed: true`)."""
    if isinstance(setting, OverrideRemoval):
        return {
            "mode": None, "pause_behavior": None, "max_pause_ms": None,
            "agent_id": setting.agent_id,
            "changed_by": setting.changed_by, "reason": setting.reason,
            "at": iso_millis(setting.at), "version": setting.version, "removed": True,
        }
    return {
        "mode": setting.mode.value,
        "pause_behavior": setting.pause_behavior.value,
        "max_pause_ms": setting.max_pause_ms,
        "agent_id": setting.agent_id,
        "changed_by": setting.changed_by,
        "reason": setting.reason,
        "at": iso_millis(setting.at),
        "version": setting.version,
    }


@dataclass(frozen=True)
class TimelineView:
    """A call's timeline, whichever store it was read from."""

    call_id: str
    org_id: str
    agent_id: str
    mode: Mode
    started_at: datetime
    ended_at: datetime | None
    intervals: tuple[Interval, ...]
    rejected: tuple[Rejection, ...]
    agents: tuple[Holding, ...]  # who had the call when; agent_id is the current holder

    @classmethod
    def of(cls, call: Call) -> TimelineView:
        return cls(
            call_id=call.call_id,
            org_id=call.org_id,
            agent_id=call.agent_id,
            mode=call.mode,
            started_at=call.started_at,
            ended_at=call.ended_at,
            intervals=tuple(call.timeline.intervals),
            rejected=tuple(call.timeline.rejected),
            agents=tuple(call.timeline.agents),
        )

    def totals(self) -> dict[str, int]:
        totals = {"recording_ms": 0, "paused_ms": 0, "off_ms": 0}
        for interval in self.intervals:
            totals[f"{interval.state.value}_ms"] += interval.duration_ms or 0
        return totals

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "org_id": self.org_id,
            "agent_id": self.agent_id,
            "mode": self.mode.value,
            "started_at": iso_millis(self.started_at),
            "ended_at": iso_millis(self.ended_at) if self.ended_at else None,
            "intervals": [interval_json(i) for i in self.intervals],
            "totals": self.totals(),
            "rejected": [
                {"command": r.command, "at": iso_millis(r.at), "code": r.code, "by": r.by}
                for r in self.rejected
            ],
            "agents": [
                {"agent_id": a.agent_id, "start": iso_millis(a.start),
                 "end": iso_millis(a.end) if a.end else None}
                for a in self.agents
            ],
        }


def interval_json(interval: Interval) -> dict[str, Any]:
    return {
        "state": interval.state.value,
        "start": iso_millis(interval.start),
        "end": iso_millis(interval.end) if interval.end else None,
        "duration_ms": interval.duration_ms,
        "recording_no": interval.recording_no,
        "reason": interval.reason,
        "by": interval.by,
    }


@dataclass(frozen=True)
class Dashboard:
    """The figures of an organisation (or every one reached) over a period of call starts."""

    calls: int
    recording_ms: int  # of closed intervals
    total_ms: int  # recording, paused and off, of closed intervals
    pauses: int
    longest_pause_ms: int
    refusals_by_code: tuple[tuple[str, int], ...]  # most first
    automatic_resumes: int
    agents_by_refusals: tuple[tuple[str, int], ...]  # most first, the top few
    always_on_gaps: int  # always-on calls with any time not recorded

    @property
    def refusals(self) -> int:
        return sum(n for _code, n in self.refusals_by_code)

    @property
    def recorded_share(self) -> float | None:
        return self.recording_ms / self.total_ms if self.total_ms else None
