"""Realistic call scripts for every mode: used by the demo and the benchmarks.

A script is what an agent's client would send during one call: a start, some
recording commands (including the odd mistaken click, which the backend must
refuse and record), and an end, each at a plausible time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.rules import Command, Mode

# What agents typically do in each mode; refused attempts are kept on purpose.
HABITS: dict[Mode, list[list[Command]]] = {
    Mode.ALWAYS_ON: [[], [Command.PAUSE], [Command.STOP]],
    Mode.PAUSE_RESUME: [
        [Command.PAUSE, Command.RESUME],
        [Command.PAUSE, Command.RESUME, Command.PAUSE, Command.RESUME],
        [Command.PAUSE, Command.STOP, Command.RESUME],
    ],
    Mode.ON_DEMAND: [
        [Command.START],
        [Command.START, Command.PAUSE, Command.RESUME],
        [Command.PAUSE, Command.START, Command.STOP, Command.PAUSE, Command.RESUME],
    ],
    Mode.ON_DEMAND_UIS: [
        [Command.START, Command.STOP],
        [Command.START, Command.PAUSE, Command.RESUME, Command.STOP, Command.START],
        [Command.START, Command.PAUSE, Command.STOP, Command.RESUME, Command.START],
    ],
}


@dataclass(frozen=True)
class Step:
    command: Command
    at: datetime


@dataclass(frozen=True)
class CallScript:
    call_id: str
    org_id: str
    agent_id: str
    direction: str
    mode: Mode
    started_at: datetime
    steps: tuple[Step, ...]


def call_script(
    rng: random.Random, call_id: str, org_id: str, agent_id: str, mode: Mode, start: datetime
) -> CallScript:
    at = start
    steps = []
    for command in [*rng.choice(HABITS[mode]), Command.END]:
        at += timedelta(milliseconds=rng.randint(2_000, 90_000))
        steps.append(Step(command, at))
    direction = rng.choice(("inbound", "outbound"))
    return CallScript(call_id, org_id, agent_id, direction, mode, start, tuple(steps))
