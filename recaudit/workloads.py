"""Realistic call scripts for every mode: used by the demo and the benchmarks.

A script is what an agent's client would send during one call: a start, some
recording commands (including the odd mistaken click, which the backend must
refuse and record), and an end, each at a plausible time. Some calls are transferred to
another agent before they end; the new agent ends them.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from domain.rules import Command, Mode

if TYPE_CHECKING:
    from recaudit.core.service import RecordingService

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
    to_agent_id: str | None = None  # a transfer's new agent


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
    rng: random.Random, call_id: str, org_id: str, agent_id: str, mode: Mode, start: datetime,
    transfer_to: str | None = None,
) -> CallScript:
    """`transfer_to`: hand the call to this agent halfway between its last recording command
    and its end (the random draws are the same with or without it)."""
    at = start
    steps = []
    for command in [*rng.choice(HABITS[mode]), Command.END]:
        at += timedelta(milliseconds=rng.randint(2_000, 90_000))
        steps.append(Step(command, at))
    if transfer_to is not None:
        before = steps[-2].at if len(steps) > 1 else start
        steps.insert(-1, Step(Command.TRANSFER, before + (at - before) / 2, transfer_to))
    direction = rng.choice(("inbound", "outbound"))
    return CallScript(call_id, org_id, agent_id, direction, mode, start, tuple(steps))


ORGS = {mode: f"org-{mode.value}" for mode in Mode}


def set_policies(service: RecordingService) -> None:
    """One organisation per mode, named after it (org-always_on, ...)."""
    for mode, org in ORGS.items():
        service.set_policy(org, mode=mode, changed_by="admin", reason="scenario set-up")


def scripts(n_calls: int, seed: int, prefix: str = "call") -> list[CallScript]:
    """`n_calls` scripts over the four modes, started a second apart six hours ago."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    modes = list(Mode)
    return [
        call_script(rng, f"{prefix}-{seed}-{n}", ORGS[modes[n % 4]], f"agent-{n % 7}",
                    modes[n % 4], start + timedelta(seconds=n),
                    transfer_to=f"agent-{(n + 1) % 7}" if n % 3 == 2 else None)
        for n in range(n_calls)
    ]


def play(service: RecordingService, script: CallScript) -> None:
    """Send one script's commands through the service, each with its own command id, by
    the agent who has the call (a transfer hands it on)."""
    service.start_call(call_id=script.call_id, org_id=script.org_id, agent_id=script.agent_id,
                       direction=script.direction, at=script.started_at,
                       command_id=f"{script.call_id}-start")
    agent = script.agent_id
    for i, step in enumerate(script.steps):
        command_id = f"{script.call_id}-{i}"
        if step.to_agent_id is not None:
            service.transfer(script.call_id, to_agent_id=step.to_agent_id, by=agent,
                             at=step.at, command_id=command_id)
            agent = step.to_agent_id
        else:
            service.command(script.call_id, step.command, by=agent, at=step.at,
                            command_id=command_id)


def drive(service: RecordingService, n_calls: int, seed: int = 1, threads: int = 8,
          prefix: str = "call") -> list[CallScript]:
    """Play `n_calls` scripts on `threads` threads (group commit batches them)."""
    todo = scripts(n_calls, seed, prefix)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda s: play(service, s), todo))
    return todo
