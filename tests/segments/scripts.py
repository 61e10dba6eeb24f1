"""Random calls for the segment store tests: commands in every mode, and their audio in chunks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from consumers.segments.audio import EPOCH
from domain.rules import Command, Mode, PauseBehavior
from recaudit.core.service import RecordingService
from tests.segments.helpers import at
from tests.segments.signal import Signal

RECORDING_COMMANDS = (Command.START, Command.PAUSE, Command.RESUME, Command.STOP)
CHUNK_SIZES = (1, 7, 80, 160, 333, 800, 4000)
MARGIN_MS = 100  # audio starts this long before the call and runs this long after it
MAX_MS = {8000: 7_500, 16000: 3_600}  # keeps every sample of a call distinct (< 65535)


def org_of(mode: Mode, behavior: PauseBehavior) -> str:
    return f"org-{mode.value.replace('_', '-')}-{behavior.value}"


def set_policies(service: RecordingService) -> None:
    for mode in Mode:
        for behavior in PauseBehavior:
            service.set_policy(org_of(mode, behavior), mode=mode, changed_by="admin",
                               pause_behavior=behavior)


@dataclass(frozen=True)
class Chunk:
    call_id: str
    first: int  # absolute sample index
    pcm: bytes
    rate: int

    @property
    def at(self) -> datetime:
        """The chunk's media time, cut to the microsecond as a client would send it."""
        return EPOCH + timedelta(microseconds=self.first * 1_000_000 // self.rate)


@dataclass
class CallPlan:
    call_id: str
    mode: Mode
    behavior: PauseBehavior
    rate: int
    start_ms: int
    commands: list[tuple[Command, int, int]]  # (command, its `at`, when it is sent), in ms
    end_ms: int
    signal: Signal = field(init=False)

    def __post_init__(self) -> None:
        self.signal = Signal.starting(at(self.start_ms - MARGIN_MS), self.rate)

    @property
    def org_id(self) -> str:
        return org_of(self.mode, self.behavior)

    def chunks(self, rng: random.Random) -> list[Chunk]:
        sizes = rng.choice([[size] for size in CHUNK_SIZES] + [list(CHUNK_SIZES)])
        first = self.signal.base
        last = Signal.starting(at(self.end_ms + MARGIN_MS), self.rate).base
        chunks = []
        while first < last:
            count = min(rng.choice(sizes), last - first)
            chunks.append(Chunk(self.call_id, first, self.signal.pcm(first, count), self.rate))
            first += count
        return chunks


def plan_call(
    rng: random.Random, call_id: str, start_ms: int, mode: Mode | None = None
) -> CallPlan:
    rate = rng.choice((8000, 16000))
    limit = start_ms + MAX_MS[rate] - 2 * MARGIN_MS
    t, commands = start_ms, []
    for _ in range(rng.randint(1, 8)):
        step = rng.choice((0, rng.randint(1, 40), rng.randint(40, 600)))
        if t + step > limit:
            break
        t += step
        when = t - rng.randint(1, 80) if rng.random() < 0.1 else t  # now and then backdated
        commands.append((rng.choice(RECORDING_COMMANDS), when, t))
    end = min(t + rng.randint(0, 400), limit)
    return CallPlan(call_id, mode or rng.choice(list(Mode)), rng.choice(list(PauseBehavior)),
                    rate, start_ms, commands, end)


def issue(service: RecordingService, plans: list[CallPlan]) -> None:
    """Send every call's commands to the command service, all calls interleaved in time."""
    steps: list[tuple[int, int, CallPlan, Command | None, int]] = []
    for plan in plans:
        steps.append((plan.start_ms, 0, plan, None, plan.start_ms))
        steps += [(sent, 1, plan, command, ms) for command, ms, sent in plan.commands]
        steps.append((plan.end_ms, 2, plan, Command.END, plan.end_ms))
    for _, _, plan, command, ms in sorted(steps, key=lambda s: (s[0], s[1], s[2].call_id)):
        if command is None:
            service.start_call(call_id=plan.call_id, org_id=plan.org_id, agent_id="agent",
                               direction="inbound", at=at(ms))
        else:
            service.command(plan.call_id, command, by="agent", at=at(ms))
