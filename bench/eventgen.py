"""Published events generated straight from the rules, for benchmarks that need millions.

Going through the real event store costs about a millisecond per command here, so a million
events would take many minutes to produce. This generator follows the same rules instead:
each call is a `recaudit.workloads` script; every step is accepted or refused by
`domain.rules` and becomes the event the aggregate would store, with the fields the contract
lists. Calls overlap in time as they do in a contact centre and positions follow time order.
`validate()` plays sample scripts through the real `RecordingService` and compares.
"""

from __future__ import annotations

import heapq
import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.clock import to_utc_millis
from domain.published import PublishedEvent
from domain.rules import CallState, Command, Mode, initial_state, next_state, rule_refusal
from recaudit.workloads import CallScript, call_script, play

ORGS = {mode: f"gen-{mode.value.replace('_', '-')}" for mode in Mode}
POLICY_VERSION = 2  # PolicyCreated is version 1, the first PolicySet version 2
EVENT_OF = {
    Command.START: "RecordingStarted",
    Command.PAUSE: "RecordingPaused",
    Command.RESUME: "RecordingResumed",
    Command.STOP: "RecordingStopped",
    Command.END: "CallEnded",
}
Planned = tuple[str, dict[str, Any]]  # (event type, contract fields)


def script_for(rng: random.Random, n: int, start: datetime) -> CallScript:
    mode = list(Mode)[n % len(Mode)]
    return call_script(rng, f"gen-{n:08d}", ORGS[mode], f"agent-{n % 400:03d}", mode, start)


def call_events(script: CallScript) -> list[Planned]:
    """The events the call aggregate stores for `script` (times only move forward here)."""
    base = {"call_id": script.call_id, "org_id": script.org_id}
    agent = script.agent_id
    events: list[Planned] = [("CallStarted", {
        **base, "agent_id": agent, "direction": script.direction, "mode": script.mode.value,
        "policy_version": POLICY_VERSION, "pause_behavior": "skip", "at": script.started_at,
        "by": agent, "command_id": f"{script.call_id}-start", "max_pause_ms": None})]
    state, recording_no = initial_state(script.mode), 0
    if state is CallState.RECORDING:
        recording_no = 1
        events.append(("RecordingStarted", {**base, "recording_no": 1, "automatic": True,
                                            "at": script.started_at, "by": agent,
                                            "command_id": None}))
    for i, step in enumerate(script.steps):
        common = {**base, "at": step.at, "by": agent, "command_id": f"{script.call_id}-{i}"}
        refusal = rule_refusal(script.mode, state, step.command)
        if refusal is not None:
            events.append(("CommandRejected", {**common, "command": step.command.value,
                                               "code": refusal.value, "state": state.value,
                                               "received_at": step.at}))
            continue
        if step.command is Command.START:
            recording_no += 1
            events.append(("RecordingStarted", {**common, "recording_no": recording_no,
                                                "automatic": False}))
        elif step.command is Command.END:
            events.append(("CallEnded", {**common, "recording_no": recording_no or None,
                                         "state_before": state.value}))
        elif step.command is Command.RESUME:
            events.append(("RecordingResumed", {**common, "recording_no": recording_no,
                                                "automatic": False}))
        else:
            events.append((EVENT_OF[step.command], {**common, "recording_no": recording_no}))
        state = next_state(step.command)
    return events


def policy_events(at: datetime) -> list[PublishedEvent]:
    """One PolicySet per organisation; each also stored a PolicyCreated (a position)."""
    return [
        PublishedEvent("PolicySet", 2 * n + 2, org, POLICY_VERSION, at, {
            "org_id": org, "agent_id": None, "mode": mode.value, "pause_behavior": "skip",
            "changed_by": "admin", "reason": None, "at": at, "max_pause_ms": None})
        for n, (mode, org) in enumerate(ORGS.items())
    ]


def stream(events: int, seed: int = 1, call_gap_ms: int = 1_500) -> Iterator[PublishedEvent]:
    """`events` published events of overlapping calls, positions in time order."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    policies = policy_events(start - timedelta(days=1))
    yield from policies[:events]
    position = policies[-1].position
    pending: list[tuple[datetime, int, int, list[Planned]]] = []
    next_start, calls = start, 0
    for _ in range(events - len(policies)):
        while not pending or next_start <= pending[0][0]:
            planned = call_events(script_for(rng, calls, next_start))
            heapq.heappush(pending, (next_start, calls, 0, planned))
            calls += 1
            next_start += timedelta(milliseconds=rng.randint(1, 2 * call_gap_ms))
        at, n, index, planned = heapq.heappop(pending)
        kind, fields = planned[index]
        position += 1
        yield PublishedEvent(kind, position, fields["call_id"], index + 1, at, fields)
        if index + 1 < len(planned):
            heapq.heappush(pending, (planned[index + 1][1]["at"], n, index + 1, planned))


def validate(calls: int, seed: int = 99) -> int:
    """Play `calls` scripts through the real service; their events must equal the generated
    ones (type, version and every field). Returns the number of events compared."""
    from recaudit.adapters.localfeed import LocalFeed
    from recaudit.bootstrap import build
    from recaudit.settings import Settings

    rng = random.Random(seed)
    start = to_utc_millis(datetime.now(UTC)) - timedelta(days=2)
    scripts = [script_for(rng, n, start + timedelta(minutes=n)) for n in range(calls)]
    with tempfile.TemporaryDirectory(prefix="recaudit-gen-") as data_dir:
        backend = build(Settings.from_env({}, data_dir=Path(data_dir)))
        try:
            for mode, org in ORGS.items():
                backend.service.set_policy(org, mode=mode, changed_by="admin")
            for script in scripts:
                play(backend.service, script)
            stored, _ = LocalFeed(backend.store).read(0, 1_000_000)
        finally:
            backend.close()
    # A refusal's `received_at` is the server clock when it was played here, not the time
    # the script gives the command: compared without it.
    by_call: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for event in stored:
        if event.type != "PolicySet":
            by_call.setdefault(event.key, []).append(
                (event.type, event.version, _rules_fields(event.fields)))
    compared = 0
    for script in scripts:
        expected = [(kind, v, _rules_fields(f))
                    for v, (kind, f) in enumerate(call_events(script), start=1)]
        if by_call.get(script.call_id) != expected:
            raise AssertionError(f"generated events of {script.call_id} differ from the "
                                 f"domain's:\n{expected}\n{by_call.get(script.call_id)}")
        compared += len(expected)
    return compared



def _rules_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != "received_at"}
