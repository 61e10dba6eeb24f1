"""One call as the projections see it: header, state and timeline, rebuilt from its events.

The semantics are the domain's (`domain.timeline.Timeline` as the call aggregate drives it),
and so is the state each event leaves the call in (`domain.published.STATE_AFTER`, the table
the aggregate reads): a call that records from the start opens nothing until its automatic
RecordingStarted; every move closes the open interval at the event's time and opens one in
the new state; an `off` interval says `not_started` or `stopped` and has no recording
number; the end closes the open interval. The tests compare the two interval by interval.
The state is kept here as plain lists of epoch milliseconds rather than the domain's frozen
dataclasses, which cost more than everything else in a rebuild; it fits in the call's
summary row (its `timeline` document), which is how it survives a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain import published
from domain.published import PublishedEvent
from domain.rules import CallState, Mode, initial_state
from domain.timeline import NOT_STARTED, STOPPED, opened_by
from projections.utc import to_millis

RECORDING, PAUSED, OFF, ENDED = (s.value for s in (CallState.RECORDING, CallState.PAUSED,
                                                   CallState.OFF, CallState.ENDED))
# Modes whose calls open "off" when they start (the others record from the start).
STARTS_OFF = frozenset(m.value for m in Mode if initial_state(m) is CallState.OFF)
# The domain's table of the state each event leaves a call in, as plain strings.
STATE_AFTER = {kind: state.value for kind, state in published.STATE_AFTER.items()}

# Columns of the `calls` table, in the order `summary_row` gives them.
CALL_COLUMNS = (
    "call_id", "org_id", "agent_id", "direction", "mode", "policy_version", "pause_behavior",
    "started_at", "ended_at", "state", "recording_no",
    "recording_ms", "paused_ms", "off_ms", "pauses", "refusals", "longest_pause_ms",
    "timeline", "version", "position", "legal_hold", "agents",
)
INTERVAL_COLUMNS = (
    "call_id", "interval_no", "state", "start_at", "end_at", "duration_ms", "recording_no",
    "reason", "by", "mode", "org_id", "agent_id", "position",
)
# An interval is [state, start, end, recording_no, reason, position, by, agent]: times in
# epoch milliseconds, `position` that of the event that last changed it (opened or closed
# it), which versions its row, `by` who opened it, `agent` who had the call then. A refusal
# is [command, at, code, by]. A holder's span is [agent_id, start, end].
STATE, START, END, RECORDING_NO, REASON, POSITION, BY, AGENT = range(8)
END_OF_HOLDING = 2


@dataclass(slots=True)
class CallProjection:
    call_id: str
    org_id: str
    agent_id: str
    direction: str
    mode: str
    policy_version: int
    pause_behavior: str
    started_at: int  # epoch milliseconds
    ended_at: int | None
    state: str
    recording_no: int
    version: int
    position: int
    recording_ms: int = 0
    paused_ms: int = 0
    off_ms: int = 0
    pauses: int = 0
    longest_pause_ms: int = 0
    intervals: list[list[Any]] = field(default_factory=list)
    rejected: list[list[Any]] = field(default_factory=list)
    agents: list[list[Any]] = field(default_factory=list)

    @classmethod
    def started(cls, event: PublishedEvent) -> CallProjection:
        f = event.fields
        at = to_millis(f["at"])
        call = cls(
            call_id=event.key, org_id=f["org_id"], agent_id=f["agent_id"],
            direction=f["direction"], mode=f["mode"], policy_version=f["policy_version"],
            pause_behavior=f["pause_behavior"], started_at=at, ended_at=None, state=OFF,
            recording_no=0, version=event.version, position=event.position,
            agents=[[f["agent_id"], at, None]],
        )
        # As the aggregate does: a call that records from the start is moved by the
        # automatic RecordingStarted that follows; the others open "off" now.
        if call.mode in STARTS_OFF:
            call._open(OFF, at, event.position, f["by"])
        return call

    def apply(self, event: PublishedEvent) -> int | None:
        """Apply the next event of this call (the caller skips the ones already applied).

        Returns the index of the first interval the event changed (None: none changed).
        """
        f = event.fields
        at = to_millis(f["at"])
        changed: int | None = None
        kind = event.type
        if kind == "CommandRejected":
            self.rejected.append([f["command"], at, f["code"], f["by"]])
        elif kind == "CallTransferred":
            self._hand_to(f["to_agent_id"], at)
        elif kind not in STATE_AFTER:
            pass  # a deletion of audio, or a type added later: no interval changes
        else:
            if kind == "RecordingStarted":
                self.recording_no = f["recording_no"]
            self.state = STATE_AFTER[kind]
            changed = self._close(at, event.position)
            if self.state == ENDED:
                self.ended_at = at
                self.agents[-1][END_OF_HOLDING] = at
            else:
                self._open(self.state, at, event.position,
                           opened_by(f["by"], f.get("automatic")))
                if changed is None:
                    changed = len(self.intervals) - 1
        self.version = event.version
        self.position = event.position
        return changed

    def _hand_to(self, agent_id: str, at: int) -> None:
        self.agents[-1][END_OF_HOLDING] = at
        self.agents.append([agent_id, at, None])
        self.agent_id = agent_id

    def _open(self, state: str, at: int, position: int, by: str) -> None:
        if state == OFF:
            reason: str | None = STOPPED if self.recording_no else NOT_STARTED
            recording_no: int | None = None
        else:
            reason, recording_no = None, self.recording_no
            if state == PAUSED:
                self.pauses += 1
        self.intervals.append([state, at, None, recording_no, reason, position, by,
                               self.agent_id])

    def _close(self, at: int, position: int) -> int | None:
        if not self.intervals or self.intervals[-1][END] is not None:
            return None
        interval = self.intervals[-1]
        interval[END] = at
        interval[POSITION] = position
        duration = at - interval[START]
        if interval[STATE] == RECORDING:
            self.recording_ms += duration
        elif interval[STATE] == PAUSED:
            self.paused_ms += duration
            self.longest_pause_ms = max(self.longest_pause_ms, duration)
        else:
            self.off_ms += duration
        return len(self.intervals) - 1

    # -- rows ----------------------------------------------------------------------

    def summary_row(self) -> tuple[Any, ...]:
        return (
            self.call_id, self.org_id, self.agent_id, self.direction, self.mode,
            self.policy_version, self.pause_behavior, self.started_at, self.ended_at,
            self.state, self.recording_no, self.recording_ms, self.paused_ms, self.off_ms,
            self.pauses, len(self.rejected), self.longest_pause_ms, self.document(),
            self.version, self.position, False,  # no legal holds yet
            [agent for agent, _start, _end in self.agents],
        )

    def document(self) -> str:
        """The `timeline` column: all the timeline endpoint needs, as compact JSON."""
        return json.dumps({
            "call_id": self.call_id, "org_id": self.org_id, "agent_id": self.agent_id,
            "mode": self.mode, "started_at": self.started_at, "ended_at": self.ended_at,
            "intervals": self.intervals, "rejected": self.rejected, "agents": self.agents,
        }, separators=(",", ":"), ensure_ascii=False)  # as ClickHouse writes it (bulk.py)

    def interval_row(self, index: int) -> tuple[Any, ...]:
        """An interval's row; its `agent_id` is the agent who had the call when it opened."""
        state, start, end, recording_no, reason, position, by, agent = self.intervals[index]
        return (
            self.call_id, index + 1, state, start, end, None if end is None else end - start,
            recording_no, reason, by, self.mode, self.org_id, agent, position,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CallProjection:
        """The state stored in a `calls` row (the inverse of `summary_row`)."""
        document = json.loads(row["timeline"])
        agent = row["agent_id"]
        return cls(
            call_id=row["call_id"], org_id=row["org_id"], agent_id=row["agent_id"],
            direction=row["direction"], mode=row["mode"],
            policy_version=row["policy_version"], pause_behavior=row["pause_behavior"],
            started_at=document["started_at"], ended_at=document["ended_at"],
            state=row["state"], recording_no=row["recording_no"], version=row["version"],
            position=row["position"], recording_ms=row["recording_ms"],
            paused_ms=row["paused_ms"], off_ms=row["off_ms"], pauses=row["pauses"],
            longest_pause_ms=row["longest_pause_ms"],
            intervals=[stored_interval(i, agent) for i in document["intervals"]],
            rejected=document["rejected"],
            agents=stored_agents(document),
        )


def stored_interval(interval: list[Any], agent_id: str) -> list[Any]:
    """An interval of a `timeline` document: one stored before `by` was kept gets None, one
    stored before transfers existed the call's only agent, `agent_id`."""
    if len(interval) <= BY:
        interval = [*interval, None]
    return interval if len(interval) > AGENT else [*interval, agent_id]


def stored_agents(document: Mapping[str, Any]) -> list[list[Any]]:
    """Who had the call when, from a `timeline` document; one stored before transfers
    existed had one agent from start to end."""
    agents = document.get("agents")
    if agents is None:
        return [[document["agent_id"], document["started_at"], document["ended_at"]]]
    return list(agents)
