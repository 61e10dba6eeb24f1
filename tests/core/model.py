"""A small reference model of the recording rules, written from docs/rules.md (sections
"Modes", "Commands and states", "Refusals", "Idempotency", "What the agent's client shows",
"Time", "Transfers", "Timeline" and "Capped pauses").

It deliberately shares no code with `domain.rules`: the tables below are restated from the
rules page, so a mistake in the product's tables shows up as a disagreement. Times are whole
milliseconds since an arbitrary origin (ints), so the model never touches datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("always_on", "pause_resume", "on_demand", "on_demand_uis")
COMMANDS = ("start_call", "start", "pause", "resume", "stop", "end")
CALL_COMMANDS = ("start", "pause", "resume", "stop", "end")
# Handing the call to another agent: in every mode, never among the actions.
TRANSFER = "transfer"
STATES = ("new", "off", "recording", "paused", "ended")
CODES = ("call_ended", "not_permitted", "invalid_state", "out_of_order", "future_timestamp",
         "past_timestamp")

# Recording when the call starts: the mode table's third column.
FIRST_STATE = {
    "always_on": "recording",
    "pause_resume": "recording",
    "on_demand": "off",
    "on_demand_uis": "off",
}

# Which commands each mode ever allows (start call and end call: all modes).
PERMITTED = {
    "always_on": {"start_call", "end"},
    "pause_resume": {"start_call", "pause", "resume", "end"},
    "on_demand": {"start_call", "start", "pause", "resume", "end"},
    "on_demand_uis": {"start_call", "start", "pause", "resume", "stop", "end"},
}

# command -> {state it is allowed from: state it goes to}; start call only makes new calls.
MOVES = {
    "start_call": {},
    "start": {"off": "recording"},
    "pause": {"recording": "paused"},
    "resume": {"paused": "recording"},
    "stop": {"recording": "off", "paused": "off"},
    "end": {"off": "ended", "recording": "ended", "paused": "ended"},
}

# The event each accepted command on an existing call stores.
EVENT_OF = {
    "start": "RecordingStarted",
    "pause": "RecordingPaused",
    "resume": "RecordingResumed",
    "stop": "RecordingStopped",
    "end": "CallEnded",
}
COMMAND_OF = {event: command for command, event in EVENT_OF.items()}

INDICATOR = {"recording": "Recording", "paused": "Paused", "off": "Start Recording", "ended": None}

# How to bring a call of each mode into each state it can reach (commands after start call).
# States missing for a mode cannot be reached in that mode (e.g. paused in always_on).
PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "always_on": {"recording": (), "ended": ("end",)},
    "pause_resume": {"recording": (), "paused": ("pause",), "ended": ("end",)},
    "on_demand": {
        "off": (),
        "recording": ("start",),
        "paused": ("start", "pause"),
        "ended": ("end",),
    },
    "on_demand_uis": {
        "off": (),
        "recording": ("start",),
        "paused": ("start", "pause"),
        "ended": ("end",),
        "off_stopped": ("start", "stop"),
        "recording_again": ("start", "stop", "start"),
        "ended_after_pause": ("start", "pause", "end"),
    },
}


def state_of_path(mode: str, name: str) -> str:
    """The call state a named path of PATHS ends in."""
    state = FIRST_STATE[mode]
    for command in PATHS[mode][name]:
        state = MOVES[command][state]
    return state


def rule_code(mode: str, state: str, command: str) -> str | None:
    """The rule a command on an existing call breaks, ignoring time, in order of precedence."""
    if state == "ended":
        return "call_ended"
    if command not in PERMITTED[mode]:
        return "not_permitted"
    if state not in MOVES[command]:
        return "invalid_state"
    return None


def transfer_code(state: str, agent: str, to_agent: str) -> str | None:
    """The rule a transfer breaks, ignoring time: none before the call ends, unless the call
    is handed to the agent who already has it."""
    if state == "ended":
        return "call_ended"
    if to_agent == agent:
        return "invalid_state"
    return None


def actions(mode: str, state: str) -> list[str]:
    """What a client may offer now, in the contract's order."""
    return [c for c in CALL_COMMANDS if rule_code(mode, state, c) is None]


def reachable_states() -> set[tuple[str, str]]:
    """(mode, state) pairs a call can be in, found by walking the rules from each start."""
    seen: set[tuple[str, str]] = set()
    for mode in MODES:
        todo = [FIRST_STATE[mode]]
        while todo:
            state = todo.pop()
            if (mode, state) in seen:
                continue
            seen.add((mode, state))
            for command in CALL_COMMANDS:
                if rule_code(mode, state, command) is None:
                    todo.append(MOVES[command][state])
    return seen


@dataclass(frozen=True)
class Answer:
    """What a command should come to. kind: accepted | refused | error (nothing stored)."""

    kind: str
    code: str | None
    version: int | None
    state: str | None
    recording_no: int | None = None


@dataclass
class Interval:
    state: str
    start: int
    end: int | None
    recording_no: int | None
    reason: str | None


@dataclass
class CallModel:
    """One call as the rules say it should be, fed the same requests as the service."""

    mode: str
    agent: str
    now: int
    skew: int
    backdate: int | None = None  # how far behind `now` a client time may be; None: no bound
    cap: int | None = None  # the call's max_pause_ms; None: pauses never end by themselves
    state: str = "new"
    version: int = 0
    last_at: int = 0
    recording_no: int = 0
    started_at: int | None = None
    ended_at: int | None = None
    intervals: list[Interval] = field(default_factory=list)
    rejected: list[tuple[str, int, str, str]] = field(default_factory=list)
    seen: dict[str, tuple[tuple[str, str, int | None, str | None], Answer]] = field(
        default_factory=dict)
    events: list[str] = field(default_factory=list)
    paused_at: int | None = None
    automatic: list[int] = field(default_factory=list)  # times of the automatic resumes
    by_of: list[str] = field(default_factory=list)  # who opened each interval
    replayed: bool = False  # whether the last request repeated an earlier one
    # Who had the call when: [agent, start, end], from the start to the end, in order;
    # `holder` has it now (`agent` is the one who started it, and sends start call).
    agents: list[list[object]] = field(default_factory=list)
    holder: str = ""

    def send(self, command: str, by: str, at: int | None, command_id: str | None,
             to: str | None = None) -> Answer:
        """Apply one request (`to`: a transfer's new agent); returns the expected answer."""
        by = self.agent if command == "start_call" else by
        fingerprint = (command, by, at, to)
        self.replayed = False
        if command_id is not None and command_id in self.seen:
            first, answer = self.seen[command_id]
            if first != fingerprint:
                return Answer("error", "idempotency_conflict", None, None)
            self.replayed = True
            return answer
        answer = self._decide(command, by, at, to)
        if command_id is not None and answer.kind != "error":
            self.seen[command_id] = (fingerprint, answer)
        return answer

    def deadline(self) -> int | None:
        """When the open pause resumes by itself, if the call is paused with a cap."""
        if self.state != "paused" or self.cap is None or self.paused_at is None:
            return None
        return self.paused_at + self.cap

    def resume_due(self, until: int) -> bool:
        """The automatic resume, if the deadline is at or before `until`."""
        deadline = self.deadline()
        if deadline is None or deadline > until:
            return False
        self._move("resume", deadline, "system")
        self.automatic.append(deadline)
        return True

    def _decide(self, command: str, by: str, at: int | None, to: str | None) -> Answer:
        if self.state == "new":
            return self._start_call(command, at)
        # A command dated at or after the deadline (never beyond the clock plus the skew)
        # finds the pause already ended.
        self.resume_due(min(at if at is not None else max(self.now, self.last_at),
                            self.now + self.skew))
        if command == TRANSFER:
            code = transfer_code(self.state, self.holder, str(to))
        else:
            code = rule_code(self.mode, self.state, command)
        if code is None and at is not None:
            code = self._time_code(at)
        when = at if at is not None else max(self.now, self.last_at)
        if code is not None:
            self.version += 1
            self.events.append("CommandRejected")
            self.rejected.append((command, when, code, by))
            return Answer("refused", code, self.version, self.state, self.recording_no)
        if command == TRANSFER:
            self._transfer(str(to), when)
        else:
            self._move(command, when, by)
        return Answer("accepted", None, self.version, self.state, self.recording_no)

    def _time_code(self, at: int) -> str | None:
        if at < self.last_at:
            return "out_of_order"
        return self._clock_code(at)

    def _clock_code(self, at: int) -> str | None:
        if at > self.now + self.skew:
            return "future_timestamp"
        if self.backdate is not None and at < self.now - self.backdate:
            return "past_timestamp"
        return None

    def _start_call(self, command: str, at: int | None) -> Answer:
        if command != "start_call":
            return Answer("error", "unknown_call", None, None)
        when = self.now if at is None else at
        code = self._clock_code(when)
        if code is not None:
            return Answer("error", code, None, None)
        self.started_at = self.last_at = when
        self.agents.append([self.agent, when, None])
        self.holder = self.agent
        self.version = 1
        self.events.append("CallStarted")
        self.state = FIRST_STATE[self.mode]
        if self.state == "recording":
            self.version = 2
            self.recording_no = 1
            self.events.append("RecordingStarted")
            self.intervals.append(Interval("recording", when, None, 1, None))
            self.by_of.append("system")
        else:
            self.intervals.append(Interval("off", when, None, None, "not_started"))
            self.by_of.append(self.agent)
        return Answer("accepted", None, self.version, self.state, self.recording_no)

    def _move(self, command: str, when: int, by: str) -> None:
        target = MOVES[command][self.state]
        if target == "paused":
            self.paused_at = when
        if command == "start":
            self.recording_no += 1
        self.version += 1
        self.events.append(EVENT_OF[command])
        self.state = target
        self.last_at = when
        self.intervals[-1].end = when
        if target == "ended":
            self.ended_at = when
            self.agents[-1][2] = when
            return
        self.by_of.append(by)
        if target == "off":
            self.intervals.append(Interval("off", when, None, None, "stopped"))
        else:
            self.intervals.append(Interval(target, when, None, self.recording_no, None))

    def _transfer(self, to: str, when: int) -> None:
        """Only who has the call changes: not its mode, state, recording or intervals."""
        self.version += 1
        self.events.append("CallTransferred")
        self.last_at = when
        self.agents[-1][2] = when
        self.agents.append([to, when, None])
        self.holder = to

    def totals(self) -> dict[str, int]:
        totals = {"recording_ms": 0, "paused_ms": 0, "off_ms": 0}
        for interval in self.intervals:
            if interval.end is not None:
                totals[f"{interval.state}_ms"] += interval.end - interval.start
        return totals
