"""The console's calls list at 1M calls on the embedded engine, against the bare query.

    python -m bench.console [--calls N] [--pages P] [--out FILE]

What is measured, in one run on the embedded engine (chdb), in a temporary directory:
1. N call summary rows are written straight into the projection's `calls` table (the
   migrated schema, its indexes included), spread over 20 organisations, 400 agents, the
   four modes and a year of starts; writing them is timed apart and left out.
2. page: one page of the console's calls list (`/console/`) as its route makes it: the
   query string read and checked, the keyset query through the projection reader, the
   template rendered to HTML; for a mix of views (no filter, an organisation, an agent, a
   mode and state, refusals, a long pause, a period, a call id prefix, the next page of
   each by its cursor).
3. baseline, in the same run: the very same `CALL_SUMMARIES` query with the same bound
   parameters by the bare clickhouse-connect client, rows fetched and nothing else.
Target (printed, never asserted): page p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client
from starlette.requests import Request

from bench.verdict import verdict
from domain.rules import CallState, Mode
from projections import engine, queries, schema
from projections.reader import ClickHouseTimelineReader, call_parameters
from recaudit.core.readmodel import CallKey, CallQuery
from recaudit.http.console import listing
from recaudit.http.console.pages import TEMPLATES

DATABASE = "bench_console"
TARGET_P99_MS = 100.0
ORGS, AGENTS = 20, 400
START = datetime(2026, 1, 1, tzinfo=UTC)
INSERT_BATCH = 100_000
COLUMNS = ("call_id", "org_id", "agent_id", "agents", "direction", "mode", "policy_version",
           "pause_behavior", "started_at", "ended_at", "state", "recording_no",
           "recording_ms", "paused_ms", "off_ms", "pauses", "refusals", "longest_pause_ms",
           "timeline", "version", "position")
VIEWS: list[dict[str, str]] = [
    {},
    {"org_id": "org-07"},
    {"agent_id": "agent-0123"},
    {"mode": "on_demand_uis", "state": "ended"},
    {"refused": "true"},
    {"min_pause_ms": "170000"},
    {"from": "2026-06-01T00:00:00Z", "to": "2026-06-08T00:00:00Z"},
    {"q": "call-00042"},
    {"org_id": "org-03", "refused": "true", "legal_hold": "false"},
]


def summary_rows(first: int, count: int, rng: random.Random) -> list[list[Any]]:
    """Columns of `count` call summaries, numbered from `first`."""
    modes = [m.value for m in Mode]
    columns: list[list[Any]] = [[] for _ in COLUMNS]
    for n in range(first, first + count):
        agent = f"agent-{rng.randrange(AGENTS):04d}"
        started = START + timedelta(seconds=n * 31 + rng.randrange(30))
        length = rng.randrange(20_000, 600_000)
        paused = rng.randrange(0, length // 3) if rng.random() < 0.4 else 0
        off = rng.randrange(0, length // 4) if rng.random() < 0.3 else 0
        ended = started + timedelta(milliseconds=length) if rng.random() < 0.98 else None
        row = (f"call-{n:07d}", f"org-{n % ORGS:02d}", agent, [agent], "inbound",
               modes[n % 4], 1, "skip", started, ended,
               CallState.ENDED.value if ended else CallState.RECORDING.value, 1,
               length - paused - off, paused, off, 1 if paused else 0,
               rng.choice((0, 0, 0, 1, 2)), paused, "{}", 5, n + 1)
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def fill(client: Client, calls: int, seed: int) -> float:
    client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": DATABASE})
    schema.migrate(client, DATABASE)
    rng = random.Random(seed)
    started = time.perf_counter()
    for first in range(0, calls, INSERT_BATCH):
        data = summary_rows(first, min(INSERT_BATCH, calls - first), rng)
        client.insert(f"{DATABASE}.calls", data, column_names=list(COLUMNS),
                      column_oriented=True)
    return time.perf_counter() - started


def render_page(reader: ClickHouseTimelineReader, query: dict[str, str]) -> tuple[str, str | None]:
    """The calls list's HTML for `query`, as its route makes it, and the next cursor."""
    context = listing.call_page(reader, None, query)
    scope = {"type": "http", "method": "GET", "path": "/console/", "headers": [],
             "query_string": b"", "state": {}}
    html = TEMPLATES.get_template("calls.html").render({**context, "request": Request(scope)})
    cursor = context["next_url"].split("after=")[1].split("&")[0] if context["next_url"] else None
    return html, cursor


def bare_query(client: Client, view: dict[str, str], cursor: str | None) -> int:
    filters = listing.read_filters(view, cursor)
    query = CallQuery(
        org_ids=(filters.org_id,) if filters.org_id else None, agent_id=filters.agent_id,
        mode=filters.mode, state=filters.state, started_from=filters.started_from,
        started_to=filters.started_to, call_id_prefix=filters.q, refused=filters.refused,
        min_pause_ms=filters.min_pause_ms, legal_hold=filters.legal_hold,
        after=CallKey.decode(cursor) if cursor else None, limit=listing.PAGE)
    result = client.query(queries.CALL_SUMMARIES,
                          parameters={"db": DATABASE, **call_parameters(query)})
    return len(result.result_rows)


def measure(client: Client, pages: int, seed: int) -> dict[str, list[float]]:
    reader = ClickHouseTimelineReader(lambda: client, DATABASE)
    rng = random.Random(seed)
    cursors: dict[int, str | None] = {}
    for i, view in enumerate(VIEWS):  # warm-up, and each view's second-page cursor
        cursors[i] = render_page(reader, view)[1]
        bare_query(client, view, None)
    timed: dict[str, list[float]] = {"page": [], "bare": []}
    for _ in range(pages):
        i = rng.randrange(len(VIEWS))
        cursor = cursors[i] if rng.random() < 0.5 else None
        query = {**VIEWS[i], **({"after": cursor} if cursor else {})}
        started = time.perf_counter()
        render_page(reader, query)
        timed["page"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        bare_query(client, VIEWS[i], cursor)
        timed["bare"].append((time.perf_counter() - started) * 1000)
    return {k: sorted(v) for k, v in timed.items()}


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))]


def figures_of(calls: int, fill_s: float, timed: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"calls": calls, "fill_s": fill_s, "pages": len(timed["page"])}
    for name, values in timed.items():
        out[name] = {"p50_ms": percentile(values, 0.5), "p99_ms": percentile(values, 0.99),
                     "mean_ms": statistics.fmean(values)}
    return out


def report(figures: dict[str, Any]) -> str:
    page, bare = figures["page"], figures["bare"]
    return "\n".join([
        f"console benchmark: the calls list at {figures['calls']:,} calls, embedded ClickHouse "
        f"(chdb); {figures['pages']} pages over {len(VIEWS)} views, half of them next pages",
        f"  writing the summary rows took {figures['fill_s']:.1f} s (not counted below)",
        f"console page (filters, keyset query, HTML): p50 {page['p50_ms']:.1f} ms, "
        f"p99 {page['p99_ms']:.1f} ms, mean {page['mean_ms']:.1f} ms  "
        f"[target p99 <= {TARGET_P99_MS:g} ms: {verdict(page['p99_ms'] <= TARGET_P99_MS)}]",
        f"bare CALL_SUMMARIES query (same parameters, bare client): p50 {bare['p50_ms']:.1f} ms, "
        f"p99 {bare['p99_ms']:.1f} ms, mean {bare['mean_ms']:.1f} ms",
        f"page / bare p99: {page['p99_ms'] / max(bare['p99_ms'], 1e-9):.2f}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=300, help="pages to time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.calls < 100:
        parser.error("--calls must be at least 100")
    data_dir = Path(tempfile.mkdtemp(prefix="recaudit-bench-console-"))
    try:
        client = engine.connect(f"chdb://{data_dir}")
        try:
            fill_s = fill(client, args.calls, args.seed)
            figures = figures_of(args.calls, fill_s, measure(client, args.pages, args.seed))
        finally:
            client.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(report(figures))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
