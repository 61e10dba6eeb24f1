"""Driving realistic traffic through the service, and clean-run references to compare with."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consumers.call_states import CallStatesConsumer
from domain.rules import Mode
from recaudit.localfeed import LocalFeed
from recaudit.scenarios import CallScript, call_script
from recaudit.service import RecordingService

ORGS = {mode: f"org-{mode.value}" for mode in Mode}


def set_policies(service: RecordingService) -> None:
    for mode, org in ORGS.items():
        service.set_policy(org, mode=mode, changed_by="admin", reason="test set-up")


def scripts(n_calls: int, seed: int, prefix: str = "call") -> list[CallScript]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    modes = list(Mode)
    return [
        call_script(rng, f"{prefix}-{seed}-{n}", ORGS[modes[n % 4]], f"agent-{n % 7}",
                    modes[n % 4], start + timedelta(seconds=n))
        for n in range(n_calls)
    ]


def play(service: RecordingService, script: CallScript) -> None:
    service.start_call(call_id=script.call_id, org_id=script.org_id, agent_id=script.agent_id,
                       direction=script.direction, at=script.started_at,
                       command_id=f"{script.call_id}-start")
    for i, step in enumerate(script.steps):
        service.command(script.call_id, step.command, by=script.agent_id, at=step.at,
                        command_id=f"{script.call_id}-{i}")


def drive(service: RecordingService, n_calls: int, seed: int = 1, threads: int = 8,
          prefix: str = "call") -> list[CallScript]:
    """Play `n_calls` scripts on `threads` threads (group commit batches them)."""
    todo = scripts(n_calls, seed, prefix)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda s: play(service, s), todo))
    return todo


def clean_run_states(service: RecordingService, path: Path) -> dict[str, tuple[object, ...]]:
    """What the call-states consumer holds after one clean pass over the local log."""
    consumer = CallStatesConsumer(path)
    feed = LocalFeed(service.store)
    position = 0
    while True:
        events, last = feed.read(position, 5000)
        if last == position:
            break
        if events:
            consumer.apply(events)
        position = last
    snapshot = consumer.snapshot()
    consumer.close()
    return snapshot
