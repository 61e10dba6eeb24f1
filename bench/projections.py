"""Projection rebuild and timeline reads, against a raw ClickHouse insert of the same rows.

    python -m bench.projections [--events N] [--batch B] [--rounds R] [--queries Q]
                                [--out FILE]

What is measured, in one run on the embedded engine (chdb) and a real SQLite event store:
1. rebuild: `bench.eventgen`'s events (validated first against the real RecordingService on
   sample calls) are written into the event store through the library's mapper
   (`bench.storegen`, timed apart). Then `projections.rebuild.Rebuilder` runs exactly as
   `recaudit rebuild-projections` does: shadow tables, the store read undecoded and every
   table computed inside ClickHouse (`projections.bulk`), the rest of the feed replayed,
   EXCHANGE TABLES, shadows dropped. Reading and decoding the store is in the figure.
2. raw: the rows the rebuild wrote, read back, are inserted again by the bare client into
   identical empty tables, in batches of the rebuild's size, as the projection consumer
   sends them; that time is the baseline ("the same rows inserted by a bare client").
   Steps 1 and 2 run `--rounds` times, each round a rebuild then the baseline into fresh
   tables, and the figures are the medians of the rounds (each round's are printed too):
   one run of either varies by a quarter or more here from one minute to the next.
3. timeline: `GET /calls/{id}/timeline`'s read path (query + TimelineView) for random calls.
4. list of calls: first pages of `GET /calls`'s query with `legal_hold` computed from legal
   holds added to `events`, against the same page reading the stored column
   (`bench/calllist.py`).
Targets (printed, never asserted): rebuild <= 10 s for 1M events, rebuild rate >= 0.5 of
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
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from bench import calllist, eventgen, storegen
from bench.verdict import verdict
from projections import engine, schema
from projections.reader import ClickHouseTimelineReader
from projections.rebuild import Rebuilder
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import REBUILD_BATCH, event_store
from recaudit.core.eventstore import EventStore
from recaudit.settings import Settings

DATABASE = "bench_projections"
RAW_DATABASE = "bench_raw"
TARGET_SECONDS_PER_MILLION = 10.0
TARGET_RATIO = 0.5
TARGET_P99_MS = 10.0


def prepare(client: Client) -> None:
    """The rebuild's database, empty and migrated; the baseline's tables are made afresh
    for each round (`fresh_raw_tables`)."""
    for database in (DATABASE, RAW_DATABASE):
        client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})
    schema.migrate(client, DATABASE)


def fill_store(store: EventStore, events: int, seed: int) -> dict[str, Any]:
    """The generated events, written into `store` (timed apart, not counted)."""
    started = time.perf_counter()
    generated = list(eventgen.stream(events, seed))
    generation_s = time.perf_counter() - started
    started = time.perf_counter()
    head = storegen.write(store, generated)
    write_s = time.perf_counter() - started
    checked = storegen.check(store, generated, sample=50)
    return {"events": events, "head": head, "generation_s": generation_s,
            "store_write_s": write_s, "store_checked": checked,
            "calls_list": [e.key for e in generated if e.type == "CallStarted"]}


def rebuild(client: Client, store: EventStore, events: int, batch: int,
            rounds: int = 1) -> dict[str, Any]:
    """`recaudit rebuild-projections`'s own path on the store, then the baseline, `rounds`
    times; the figures are the medians of the rounds."""
    rebuilds: list[float] = []
    raws: list[float] = []
    swaps: list[float] = []
    raw_rows = 0
    for _ in range(rounds):
        feed = LocalFeed(store, batch_size=batch)
        started = time.perf_counter()
        report = Rebuilder(client, DATABASE).run(feed, raw=feed)
        rebuilds.append(time.perf_counter() - started)
        swaps.append(report.swap_ms)
        stored = client.query("SELECT count() FROM {db:Identifier}.events",
                              parameters={"db": DATABASE}).result_rows[0][0]
        if stored != events or report.events != events:
            raise RuntimeError(f"the rebuild stored {stored} of {events} events")
        fresh_raw_tables(client)
        raw_s, raw_rows = raw_insert(client, batch)
        raws.append(raw_s)
    seconds, raw_s = statistics.median(rebuilds), statistics.median(raws)
    return {"batch": batch, "rounds": rounds, "rebuild_s": seconds,
            "rebuild_eps": events / seconds, "rebuild_rounds_s": rebuilds,
            "swap_ms": statistics.median(swaps), "raw_s": raw_s, "raw_eps": events / raw_s,
            "raw_rounds_s": raws, "raw_rows": raw_rows}


def fresh_raw_tables(client: Client) -> None:
    """The baseline's tables, empty, as the migrations make them."""
    client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": RAW_DATABASE})
    schema.migrate(client, RAW_DATABASE)


def raw_insert(client: Client, batch: int) -> tuple[float, int]:
    """The rows the rebuild wrote, read back (not timed) and inserted again by the bare
    client into identical empty tables, `batch` rows per insert, columnar, times as epoch
    milliseconds: what the projection consumer's own inserts send. Returns the seconds the
    inserts took and the rows inserted."""
    seconds, rows = 0.0, 0
    for table in schema.PROJECTION_TABLES:
        columns = client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} "
            "AND table = {t:String} ORDER BY position",
            parameters={"db": DATABASE, "t": table}).result_rows
        selected = ", ".join(f"toUnixTimestamp64Milli(`{name}`)" if "DateTime64" in kind
                             else f"`{name}`" for name, kind in columns)
        names = [name for name, _kind in columns]
        data = client.query(f"SELECT {selected} FROM {DATABASE}.{table}").result_rows
        chunks = [list(zip(*data[i:i + batch], strict=True))
                  for i in range(0, len(data), batch)]
        del data
        started = time.perf_counter()
        for chunk in chunks:
            client.insert(table, chunk, column_names=names, database=RAW_DATABASE,
                          column_oriented=True)
        seconds += time.perf_counter() - started
        rows += sum(len(chunk[0]) for chunk in chunks)
    return seconds, rows


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
        f"projections benchmark: {events:,} generated events ({figures['calls']:,} calls) in "
        f"a real SQLite event store, embedded ClickHouse (chdb), {os.cpu_count()} CPUs",
        f"  generator checked against RecordingService: {figures['validated']} events identical",
        f"  generating took {figures['generation_s']:.1f} s, writing the store "
        f"{figures['store_write_s']:.1f} s (neither counted below); "
        f"{figures['store_checked']:,} stored events decoded back identical",
        f"rebuild and baseline: medians of {figures['rounds']} rounds, each a rebuild then "
        f"the raw insert",
        f"rebuild (as rebuild-projections: the store read, decoded and computed inside "
        f"ClickHouse, EXCHANGE): {figures['rebuild_s']:.2f} s, "
        f"{figures['rebuild_eps']:,.0f} events/s, swap {figures['swap_ms']:.0f} ms  "
        f"[target <= {allowed:.1f} s: {verdict(figures['rebuild_s'] <= allowed)}]"
        f"  rounds: {_seconds(figures['rebuild_rounds_s'])}",
        f"raw insert of the same {figures['raw_rows']:,} rows (batches of "
        f"{figures['batch']:,}, bare client): {figures['raw_s']:.2f} s, "
        f"{figures['raw_eps']:,.0f} events/s  rounds: {_seconds(figures['raw_rounds_s'])}",
        f"rebuild / raw rate: {ratio:.2f}  [target >= {TARGET_RATIO}: "
        f"{verdict(ratio >= TARGET_RATIO)}]",
        f"timeline of one call ({figures['queries']} random calls): p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms, mean {figures['mean_ms']:.2f} ms  "
        f"[target p99 <= {TARGET_P99_MS:g} ms: {verdict(p99 <= TARGET_P99_MS)}]",
        *list_lines(figures["call_list"]),
    ])


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f} s" for v in values)


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
    (data_dir / "store").mkdir()
    store = event_store(Settings.from_env({}, data_dir=data_dir / "store"))
    client = engine.connect(f"chdb://{data_dir / 'clickhouse'}")
    try:
        filled = fill_store(store, args.events, args.seed)
        prepare(client)
        figures = filled | rebuild(client, store, args.events, args.batch, args.rounds)
        calls = figures.pop("calls_list")
        latencies = timeline_latency(client, calls, args.queries, args.seed)
        figures["calls"] = len(calls)
        figures["call_list"] = calllist.measure(client, DATABASE, RAW_DATABASE, args.holds,
                                                args.list_queries, args.seed)
    finally:
        client.close()
        store.close()
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
    parser.add_argument("--rounds", type=int, default=3,
                        help="rebuilds (each followed by the baseline) whose medians are given")
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
    if args.holds < 1 or args.list_queries < 1 or args.rounds < 1:
        parser.error("--holds, --list-queries and --rounds must be at least 1")
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
