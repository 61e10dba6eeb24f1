"""Driving calls through the real service, and looking at the projection tables."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from domain.published import PublishedEvent
from domain.rules import Command, Mode
from projections.consumer import DEFAULT_NAME
from projections.facade import Projections
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend
from recaudit.core.eventstore import EventStore
from recaudit.core.service import RecordingService
from recaudit.workloads import call_script

ORGS = {mode: f"org-{mode.value}" for mode in Mode}
RANDOM_COMMANDS = (*Command,)

# Each table's rows in a stable order; `positions` without its per-run generation and time.
SNAPSHOTS = {
    "events": "SELECT * FROM {db:Identifier}.{t:Identifier} FINAL ORDER BY stream, key, version",
    "intervals": "SELECT * FROM {db:Identifier}.{t:Identifier} FINAL ORDER BY call_id, interval_no",
    "calls": "SELECT * FROM {db:Identifier}.{t:Identifier} FINAL ORDER BY call_id",
    "positions": "SELECT consumer, position FROM {db:Identifier}.{t:Identifier} FINAL "
                 "ORDER BY consumer",
}


def set_policies(service: RecordingService) -> None:
    for mode, org in ORGS.items():
        service.set_policy(org, mode=mode, changed_by="admin", reason="test set-up")


def play_scenarios(service: RecordingService, calls: int, seed: int,
                   start: datetime | None = None, prefix: str = "s") -> list[str]:
    """Realistic scripts (recaudit.workloads) in every mode."""
    rng = random.Random(seed)
    start = start or datetime.now(UTC) - timedelta(hours=8)
    modes = list(Mode)
    ids = []
    for n in range(calls):
        mode = modes[n % len(modes)]
        script = call_script(rng, f"{prefix}{seed}-{n}", ORGS[mode], f"agent-{n % 5}", mode,
                             start + timedelta(minutes=7 * n))
        service.start_call(call_id=script.call_id, org_id=script.org_id,
                           agent_id=script.agent_id, direction=script.direction,
                           at=script.started_at)
        for step in script.steps:
            service.command(script.call_id, step.command, by=script.agent_id, at=step.at)
        ids.append(script.call_id)
    return ids


def play_random(service: RecordingService, calls: int, seed: int,
                start: datetime | None = None, prefix: str = "r") -> list[str]:
    """Random commands (transfers included) at random (sometimes equal, sometimes earlier)
    times, left open or ended."""
    rng = random.Random(seed)
    start = start or datetime.now(UTC) - timedelta(hours=30)
    modes = list(Mode)
    ids = []
    for n in range(calls):
        call_id = f"{prefix}{seed}-{n}"
        at = start + timedelta(minutes=11 * n, milliseconds=rng.randint(0, 999))
        service.start_call(call_id=call_id, org_id=ORGS[modes[n % 4]], agent_id=f"agent-{n % 3}",
                           direction="inbound", at=at)
        for _ in range(rng.randint(0, 9)):
            at += timedelta(milliseconds=rng.choice((0, 1, 450, 20_000, 600_000, -5_000)))
            command = rng.choice(RANDOM_COMMANDS)
            if command is Command.START_CALL:
                service.start_call(call_id=call_id, org_id=ORGS[modes[n % 4]],
                                   agent_id="someone-else", direction="outbound", at=at)
            elif command is Command.TRANSFER:  # to another agent, or to the one who has it
                service.transfer(call_id, to_agent_id=f"agent-{rng.randint(0, 2)}",
                                 by="supervisor", at=at)
            else:
                service.command(call_id, command, by=rng.choice(("agent", "supervisor")), at=at)
        ids.append(call_id)
    return ids


def published(store: EventStore) -> list[PublishedEvent]:
    events, _ = LocalFeed(store).read(0, 1_000_000)
    return events


def caught_up(backend: Backend, timeout: float = 20.0) -> int:
    """Wait until the running projection consumer has applied the last published event."""
    events = published(backend.store)
    last = events[-1].position if events else 0
    assert backend.pipeline.wait_for(last, timeout), f"the projection did not reach {last}"
    return last


def snapshot(client: Client, database: str, suffix: str = "") -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [
            tuple(row)
            for row in client.query(sql, parameters={"db": database, "t": table + suffix})
            .result_rows
        ]
        for table, sql in SNAPSHOTS.items()
    }


def raw_count(client: Client, database: str, table: str) -> int:
    """Rows as stored, without FINAL (duplicates not yet merged count)."""
    sql = "SELECT count() FROM {db:Identifier}.{t:Identifier}"
    return int(client.query(sql, parameters={"db": database, "t": table}).result_rows[0][0])


def position_of(client: Client, database: str, consumer: str = DEFAULT_NAME) -> int:
    sql = "SELECT position FROM {db:Identifier}.positions FINAL WHERE consumer = {c:String}"
    rows = client.query(sql, parameters={"db": database, "c": consumer}).result_rows
    return int(rows[0][0]) if rows else 0


def projections_of(backend: Backend) -> Projections:
    assert backend.projections is not None, "build() wires the projections"
    return backend.projections
