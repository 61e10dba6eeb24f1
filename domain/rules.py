"""The recording permission rules, as plain data and pure functions.

Everything the aggregates decide comes from the tables in this module, so the
rules can be read (and tested) in one place. See docs/rules.md (sections "Modes",
"Commands and states", "Refusals" and "What the agent's client shows").
"""

from __future__ import annotations

from enum import Enum


class Mode(str, Enum):
    ALWAYS_ON = "always_on"
    PAUSE_RESUME = "pause_resume"
    ON_DEMAND = "on_demand"
    ON_DEMAND_UIS = "on_demand_uis"


class CallState(str, Enum):
    OFF = "off"
    RECORDING = "recording"
    PAUSED = "paused"
    ENDED = "ended"


class Command(str, Enum):
    START_CALL = "start_call"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    END = "end"
    # Hands the call to another agent: not a recording command, and never in `actions`.
    TRANSFER = "transfer"


class PauseBehavior(str, Enum):
    SKIP = "skip"
    SILENCE = "silence"


class Refusal(str, Enum):
    """Rule codes, listed in order of precedence (the first that applies wins)."""

    CALL_ENDED = "call_ended"
    NOT_PERMITTED = "not_permitted"
    INVALID_STATE = "invalid_state"
    OUT_OF_ORDER = "out_of_order"
    FUTURE_TIMESTAMP = "future_timestamp"
    # Earlier than the server clock minus the allowed backdating: beside future_timestamp
    # (the two cannot both apply), after out_of_order.
    PAST_TIMESTAMP = "past_timestamp"
    # The call's audio is already decided at or after the command's time (it came
    # later than the segment store's lateness bound), so it can no longer apply.
    TOO_LATE = "too_late"


# A pause may be capped (`max_pause_ms`): null for no cap, else this many milliseconds
# (one second to one day). A capped pause that lasts its cap resumes by itself.
MIN_PAUSE_CAP_MS = 1_000
MAX_PAUSE_CAP_MS = 86_400_000


def check_pause_cap(max_pause_ms: int | None) -> int | None:
    """`max_pause_ms` if it is a valid cap (or None: no cap); ValueError otherwise."""
    if max_pause_ms is not None and not MIN_PAUSE_CAP_MS <= max_pause_ms <= MAX_PAUSE_CAP_MS:
        raise ValueError(f"max_pause_ms must be between {MIN_PAUSE_CAP_MS} and "
                         f"{MAX_PAUSE_CAP_MS}, or null (got {max_pause_ms})")
    return max_pause_ms


RECORDING_COMMANDS = (Command.START, Command.PAUSE, Command.RESUME, Command.STOP)
CALL_COMMANDS = (*RECORDING_COMMANDS, Command.END)

ALLOWED_IN_MODE: dict[Mode, frozenset[Command]] = {
    Mode.ALWAYS_ON: frozenset({Command.START_CALL, Command.END}),
    Mode.PAUSE_RESUME: frozenset(
        {Command.START_CALL, Command.PAUSE, Command.RESUME, Command.END}
    ),
    Mode.ON_DEMAND: frozenset(
        {Command.START_CALL, Command.START, Command.PAUSE, Command.RESUME, Command.END}
    ),
    Mode.ON_DEMAND_UIS: frozenset({Command.START_CALL, *CALL_COMMANDS}),
}

# Command -> (states it is allowed from, state it leads to). Start call has no
# "from" state: it creates the call, so on an existing call it is out of place.
TRANSITIONS: dict[Command, tuple[frozenset[CallState], CallState | None]] = {
    Command.START_CALL: (frozenset(), None),
    Command.START: (frozenset({CallState.OFF}), CallState.RECORDING),
    Command.PAUSE: (frozenset({CallState.RECORDING}), CallState.PAUSED),
    Command.RESUME: (frozenset({CallState.PAUSED}), CallState.RECORDING),
    Command.STOP: (frozenset({CallState.RECORDING, CallState.PAUSED}), CallState.OFF),
    Command.END: (
        frozenset({CallState.OFF, CallState.RECORDING, CallState.PAUSED}),
        CallState.ENDED,
    ),
}

RECORDS_FROM_START: frozenset[Mode] = frozenset({Mode.ALWAYS_ON, Mode.PAUSE_RESUME})

INDICATOR: dict[CallState, str | None] = {
    CallState.RECORDING: "Recording",
    CallState.PAUSED: "Paused",
    CallState.OFF: "Start Recording",
    CallState.ENDED: None,
}


def initial_state(mode: Mode) -> CallState:
    """The state a call is in as soon as it starts (initiated or answered)."""
    return CallState.RECORDING if mode in RECORDS_FROM_START else CallState.OFF


def rule_refusal(mode: Mode, state: CallState, command: Command) -> Refusal | None:
    """The state-and-mode rule a command breaks, if any (time rules are separate)."""
    if state is CallState.ENDED:
        return Refusal.CALL_ENDED
    if command not in ALLOWED_IN_MODE[mode]:
        return Refusal.NOT_PERMITTED
    if state not in TRANSITIONS[command][0]:
        return Refusal.INVALID_STATE
    return None


def transfer_refusal(state: CallState, agent_id: str, to_agent_id: str) -> Refusal | None:
    """The rule a transfer breaks, if any (time rules are separate). Every mode allows a
    transfer before the call ends; it changes only who has the call, never its mode or
    state, so handing the call to the agent who has it is `invalid_state`."""
    if state is CallState.ENDED:
        return Refusal.CALL_ENDED
    if to_agent_id == agent_id:
        return Refusal.INVALID_STATE
    return None


def next_state(command: Command) -> CallState:
    target = TRANSITIONS[command][1]
    if target is None:
        raise ValueError(f"{command.value} does not move an existing call")
    return target


def allowed_actions(mode: Mode, state: CallState) -> list[Command]:
    """The commands a client may offer now, in a stable order."""
    return [c for c in CALL_COMMANDS if rule_refusal(mode, state, c) is None]
