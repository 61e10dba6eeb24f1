"""Projection rebuild and timeline reads, against a raw ClickHouse insert of the same rows.

    python -m bench.projections [--events N] [--batch B] [--queries Q] [--out FILE]

What is measured, in one run on the embedded engine (chdb):
1. rebuild: `projections.rebuild.Rebuilder` on a fresh database: shadow tables created, the
   event stream applied by the projection consumer in batches (state per call, interval and
   summary rows, columnar inserts, position), EXCHANGE TABLES, old tables dropped. Events
   come from `bench.eventgen` (validated first against the real RecordingService on sample
   calls), not from the event store: reading and decoding the store is not part of these
   figures, and generating the events is timed apart and left out.
2. raw: every insert the rebuild makes is repeated, right after it, with the very same rows
   into identical tables of another database; that time is the baseline ("the same rows
   inserted by a bare client").
3. timeline: `GET /calls/{id}/timeline`'s read path (query + TimelineView) for random calls.
4. list of calls: first pages of `GET /calls`'s query with `legal_hold` computed from legal
   holds added to `events`, against the same page reading the stored column
   (`bench/calllist.py`).
Targets (printed, never asserted): rebuild <= 30 s for 1M events, rebuild rate >= 0.5 of
the raw rate, timeline p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from bench import calllist, eventgen
from bench.verdict import verdict
from domain.published import PublishedEvent
from projections import engine, schema
from projections.reader import ClickHouseTimelineReader
from projections.rebuild import Rebuilder
from recaudit.bootstrap import REBUILD_BATCH

DATABASE = "bench_projections"
RAW_DATABASE = "bench_raw"
TARGET_SECONDS_PER_MILLION = 30.0
TARGET_RATIO = 0.5
TARGET_P99_MS = 10.0


class GeneratedFeed:
    """An EventFeed over `bench.eventgen.stream`, timing the generation apart."""

    def __init__(self, events: int, seed: int, batch: int) -> None:
        self._events: Iterator[PublishedEvent] = eventgen.stream(events, seed)
        self.batch = batch
        self.seconds = 0.0
        self.calls: set[str] = set()

    def subscribe(self, group: str, after: int) -> GeneratedFeed:
        return self

    def poll(self, timeout: float) -> list[PublishedEvent]:
        started = time.perf_counter()
        batch = list(islice(self._events, self.batch))
        self.calls.update(e.key for e in batch if e.type == "CallStarted")
        self.seconds += time.perf_counter() - started
        return batch

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


class TeeClient:
    """The real client; each insert is then repeated into the raw database, timed apart."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.raw_seconds = 0.0
        self.raw_rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def insert(self, table: str, data: Any, **kwargs: Any) -> Any:
        summary = self._client.insert(table, data, **kwargs)
        raw_table = table.removesuffix("_rebuild")
        started = time.perf_counter()
        self._client.insert(raw_table, data, **{**kwargs, "database": RAW_DATABASE})
        self.raw_seconds += time.perf_counter() - started
        self.raw_rows += len(data[0]) if kwargs.get("column_oriented") else len(data)
        return summary


def prepare(client: Client) -> None:
    for database in (DATABASE, RAW_DATABASE):
        client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})
    schema.migrate(client, DATABASE)
    schema.migrate(client, RAW_DATABASE)


def rebuild(client: Client, events: int, seed: int, batch: int) -> dict[str, Any]:
    feed = GeneratedFeed(events, seed, batch)
    tee = TeeClient(client)
    started = time.perf_counter()
    report = Rebuilder(tee, DATABASE).run(feed)  # type: ignore[arg-type]
    wall = time.perf_counter() - started
    seconds = wall - feed.seconds - tee.raw_seconds
    stored = client.query("SELECT count() FROM {db:Identifier}.events",
                          parameters={"db": DATABASE}).result_rows[0][0]
    if stored != events or report.events != events:
        raise RuntimeError(f"the rebuild stored {stored} of {events} events")
    return {
        "events": events, "calls": len(feed.calls), "batch": batch,
        "rebuild_s": seconds, "rebuild_eps": events / seconds, "swap_ms": report.swap_ms,
        "raw_s": tee.raw_seconds, "raw_eps": events / tee.raw_seconds,
        "raw_rows": tee.raw_rows, "generation_s": feed.seconds,
        "calls_list": sorted(feed.calls),
    }


def timeline_latency(client: Client, calls: list[str], queries: int, seed: int) -> list[float]:
    reader = ClickHouseTimelineReader(lambda: client, DATABASE)
    rng = random.Random(seed)
    for call_id in rng.sample(calls, min(50, len(calls))):
        reader.timeline(call_id)  # warm-up
    latencies = []
    for _ in range(queries):
        call_id = rng.choice(calls)
        started = time.perf_counter()
        reader.timeline(call_id)
        latencies.append((time.perf_counter() - started) * 1000)
    return sorted(latencies)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))]


def report(figures: dict[str, Any]) -> str:
    events = figures["events"]
    allowed = TARGET_SECONDS_PER_MILLION * events / 1_000_000
    ratio = figures["rebuild_eps"] / figures["raw_eps"]
    p50, p99 = figures["p50_ms"], figures["p99_ms"]

    return "\n".join([
        f"projections benchmark: {events:,} generated events ({figures['calls']:,} calls, "
        f"batches of {figures['batch']:,}), embedded ClickHouse (chdb), {os.cpu_count()} CPUs",
        f"  generator checked against RecordingService: {figures['validated']} events identical",
        f"  generating the events took {figures['generation_s']:.1f} s (not counted below)",
        f"rebuild (consumer apply path, fresh tables, EXCHANGE): {figures['rebuild_s']:.2f} s, "
        f"{figures['rebuild_eps']:,.0f} events/s, swap {figures['swap_ms']:.0f} ms  "
        f"[target <= {allowed:.1f} s: {verdict(figures['rebuild_s'] <= allowed)}]",
        f"raw insert of the same {figures['raw_rows']:,} rows (same batches, bare client): "
        f"{figures['raw_s']:.2f} s, {figures['raw_eps']:,.0f} events/s",
        f"rebuild / raw rate: {ratio:.2f}  [target >= {TARGET_RATIO}: "
        f"{verdict(ratio >= TARGET_RATIO)}]",
        f"timeline of one call ({figures['queries']} random calls): p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms, mean {figures['mean_ms']:.2f} ms  "
        f"[target p99 <= {TARGET_P99_MS:g} ms: {verdict(p99 <= TARGET_P99_MS)}]",
        *list_lines(figures["call_list"]),
        "not measured here: reading and decoding the event store during a real rebuild",
    ])


def list_lines(figures: dict[str, Any]) -> list[str]:
    lines = [f"list of calls, first page of 50 ({figures['repeats']} reads each), with "
             f"{figures['holds']} legal holds ({figures['released']} released; "
             f"{figures['held_calls']:,} calls on hold):"]
    for name, title in (("page", "unfiltered"), ("held_page", "legal_hold=true")):
        computed, stored = figures[name]["computed_ms"], figures[name]["stored_ms"]
        lines.append(
            f"  {title}: legal_hold computed from the holds p50 {percentile(computed, 0.5):.2f}"
            f" ms, p99 {percentile(computed, 0.99):.2f} ms; baseline, the stored column, p50 "
            f"{percentile(stored, 0.5):.2f} ms, p99 {percentile(stored, 0.99):.2f} ms")
    return lines


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    validated = eventgen.validate(args.validate_calls)
    client = engine.connect(f"chdb://{data_dir}")
    try:
        prepare(client)
        figures = rebuild(client, args.events, args.seed, args.batch)
        latencies = timeline_latency(client, figures.pop("calls_list"), args.queries, args.seed)
        figures["call_list"] = calllist.measure(client, DATABASE, RAW_DATABASE, args.holds,
                                                args.list_queries, args.seed)
    finally:
        client.close()
    return figures | {
        "validated": validated, "queries": len(latencies),
        "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.projections", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH,
                        help="events per rebuild batch (default: what the rebuild command reads)")
    parser.add_argument("--queries", type=int, default=1000, help="timeline reads to time")
    parser.add_argument("--holds", type=int, default=200,
                        help="legal holds added before the list of calls is timed")
    parser.add_argument("--list-queries", type=int, default=200,
                        help="reads of each page of the list of calls to time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--validate-calls", type=int, default=40)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.events < 10:
        parser.error("--events must be at least 10")
    if args.holds < 1 or args.list_queries < 1:
        parser.error("--holds and --list-queries must be at least 1")
    data_dir = Path(tempfile.mkdtemp(prefix="recaudit-bench-ch-"))
    try:
        figures = run(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(report(figures))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
