"""The calls the command benchmark drives, with the answers the rules say they must get."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.rules import CallState, Mode, initial_state, next_state, rule_refusal
from recaudit.workloads import CallScript, call_script

ACCEPTED = "accepted"
ORGS = {mode: f"bench-{mode.value.replace('_', '-')}" for mode in Mode}


@dataclass(frozen=True)
class PlannedCall:
    """A call script with what the rules say each of its commands must get."""

    script: CallScript
    outcomes: tuple[str, ...]  # the start's, then one per step
    events: int  # events recaudit stores for the whole call

    @property
    def commands(self) -> int:
        return len(self.outcomes)


def expect(script: CallScript) -> PlannedCall:
    state = initial_state(script.mode)
    outcomes = [ACCEPTED]
    for step in script.steps:
        refusal = rule_refusal(script.mode, state, step.command)
        if refusal is None:
            state = next_state(step.command)
        outcomes.append(ACCEPTED if refusal is None else refusal.value)
    automatic_start = initial_state(script.mode) is CallState.RECORDING
    return PlannedCall(script, tuple(outcomes), len(outcomes) + int(automatic_start))


@dataclass(frozen=True)
class Workload:
    warmup: tuple[tuple[PlannedCall, ...], ...]  # per client thread
    measured: tuple[tuple[PlannedCall, ...], ...]

    @property
    def threads(self) -> int:
        return len(self.measured)


def make_workload(commands: int, threads: int, warmup_calls: int, seed: int) -> Workload:
    """Calls of every mode, dealt round-robin to the threads, `commands` in all."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=1)
    counter = itertools.count()

    def next_call() -> PlannedCall:
        n = next(counter)
        mode = list(Mode)[n % len(Mode)]
        script = call_script(rng, f"bench-{seed}-{n:07d}", ORGS[mode], f"agent-{n % 50}",
                             mode, start + timedelta(seconds=n))
        return expect(script)

    warmup = tuple(tuple(next_call() for _ in range(warmup_calls)) for _ in range(threads))
    measured: list[list[PlannedCall]] = [[] for _ in range(threads)]
    total = 0
    for n in itertools.count():
        if total >= commands:
            break
        call = next_call()
        measured[n % threads].append(call)
        total += call.commands
    return Workload(warmup, tuple(tuple(calls) for calls in measured))
