"""The list of calls with its `legal_hold` computed from the active holds, against the same
page reading the stored column: the cost of computing it at read time.

Part of `python -m bench.projections` (after the rebuild, on its tables): legal holds are
added to `events` as the projection stores them (on calls, on agents, on one whole
organisation, some released again), then first pages of `GET /calls`'s query are timed,
unfiltered and with `legal_hold=true`, both with `queries.CALL_SUMMARIES` and with a
baseline: the same query reading `calls.legal_hold` instead (no subquery), on a copy of the
`calls` table whose column holds the very flag computed (what a consumer that kept the flag
up to date would store). Both must answer the same rows; the run checks it.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from domain.lifecycle import hold_id
from domain.published import PublishedEvent
from projections import queries
from projections.reader import call_parameters
from projections.rows import EVENT_COLUMNS, event_row
from recaudit.core.readmodel import CallQuery


def _parts() -> tuple[str, str]:
    """The WITH clause of `CALL_SUMMARIES` gathering the holds, and its `on_hold` column."""
    if queries.HOLD_SETS not in queries.CALL_SUMMARIES or \
            queries.ON_HOLD not in queries.CALL_SUMMARIES:
        raise RuntimeError("CALL_SUMMARIES changed shape: update bench/calllist.py")
    return queries.HOLD_SETS, queries.ON_HOLD


def baseline_sql() -> str:
    """`CALL_SUMMARIES` without the holds: the stored column read as `on_hold`."""
    holds, on_hold = _parts()
    return queries.CALL_SUMMARIES.replace(holds, "").replace(on_hold, "legal_hold")


def store_flags(client: Client, database: str, baseline: str) -> None:
    """`baseline`'s `calls`: the rows of `database`'s, with `legal_hold` as computed."""
    holds, on_hold = _parts()
    client.command(f"TRUNCATE TABLE {baseline}.calls")
    client.command(
        f"INSERT INTO {baseline}.calls {holds}"
        f"SELECT * REPLACE ({on_hold} AS legal_hold) FROM {database}.calls FINAL"
        .replace("{db:Identifier}", database))


def add_holds(client: Client, database: str, count: int, seed: int) -> dict[str, int]:
    """`count` holds placed (a third on calls, the rest on agents, one on a whole
    organisation), a fifth of them released; returns how many of each."""
    rng = random.Random(seed)
    calls = client.query("SELECT call_id, org_id, agent_id FROM {db:Identifier}.calls "
                         "ORDER BY call_id", parameters={"db": database}).result_rows
    head = client.query("SELECT max(position) FROM {db:Identifier}.events",
                        parameters={"db": database}).result_rows[0][0]
    at = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    versions: dict[str, int] = {}
    picked = rng.sample(calls, count)
    for n, (call_id, org_id, agent_id) in enumerate(picked):
        scope = {"call_id": call_id, "agent_id": None} if n % 3 == 0 else {
            "call_id": None, "agent_id": agent_id}
        if n == count - 1:
            scope = {"call_id": None, "agent_id": None}
        version = versions[org_id] = versions.get(org_id, 100) + 1
        hold = hold_id(org_id, version)
        rows.append(_row("LegalHoldPlaced", head + len(rows) + 1, org_id, version, at,
                         {"hold_id": hold, "org_id": org_id, **scope, "case": f"case-{n}",
                          "by": "auditor", "reason": None, "at": at}))
        if n % 5 == 4 and n != count - 1:
            version = versions[org_id] = version + 1
            rows.append(_row("LegalHoldReleased", head + len(rows) + 1, org_id, version, at,
                             {"hold_id": hold, "org_id": org_id, "by": "auditor",
                              "reason": None, "at": at}))
    client.insert("events", rows, database=database, column_names=list(EVENT_COLUMNS))
    return {"holds": count, "released": sum(1 for row in rows if row[1] == "LegalHoldReleased")}


def _row(kind: str, position: int, org_id: str, version: int, at: datetime,
         fields: dict[str, Any]) -> tuple[Any, ...]:
    return event_row(PublishedEvent(kind, position, org_id, version, at, fields), None)


def page_latency(client: Client, database: str, sql: str, query: CallQuery,
                 repeats: int) -> list[float]:
    parameters = {"db": database, **call_parameters(query)}
    client.query(sql, parameters=parameters)  # warm-up
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        rows = client.query(sql, parameters=parameters).result_rows
        latencies.append((time.perf_counter() - started) * 1000)
        if len(rows) > query.limit + 1:
            raise RuntimeError(f"a page of {query.limit} read {len(rows)} rows")
    return sorted(latencies)


def measure(client: Client, database: str, baseline: str, holds: int, repeats: int,
            seed: int) -> dict[str, Any]:
    """`baseline`: a database with the same tables (its `calls` is replaced)."""
    added = add_holds(client, database, holds, seed)
    store_flags(client, database, baseline)
    held = client.query(queries.CALL_SUMMARIES.replace("LIMIT {rows:UInt32}", ""),
                        parameters={"db": database, **call_parameters(
                            CallQuery(legal_hold=True, limit=1))}).result_rows
    figures: dict[str, Any] = {**added, "held_calls": len(held), "repeats": repeats}
    for name, query in (("page", CallQuery()), ("held_page", CallQuery(legal_hold=True))):
        computed = _page(client, database, queries.CALL_SUMMARIES, query)
        if computed != _page(client, baseline, baseline_sql(), query) or not computed:
            raise RuntimeError(f"the {name} differs between computed and stored flags")
        figures[name] = {
            "computed_ms": page_latency(client, database, queries.CALL_SUMMARIES, query,
                                        repeats),
            "stored_ms": page_latency(client, baseline, baseline_sql(), query, repeats),
        }
    return figures


def _page(client: Client, database: str, sql: str, query: CallQuery) -> list[tuple[Any, ...]]:
    parameters = {"db": database, **call_parameters(query)}
    return [tuple(row) for row in client.query(sql, parameters=parameters).result_rows]
