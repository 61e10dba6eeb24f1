"""`recaudit serve` processes side by side on one PostgreSQL and one Kafka: 1, 2 and 4.

For each count, a fresh PostgreSQL database and fresh Kafka topics; that many `recaudit
serve` processes on them (each its own data directory, so its own chdb projections and
call states; each runs the relay, which tolerates the others), and the same load in every
case: `--connections` keep-alive connections in all, split evenly over the processes, one
load generator process (`bench.http.load`) per server playing whole calls. Printed per
count: commands/s over all processes, p50/p99 of the slowest generator, the write
conflicts the processes retried (each prints its count when it stops), and the answers
checked against the rules. Nothing is asserted.

    python -m bench.scale --postgres-url URL --kafka HOST:PORT [--processes 1,2,4]
                          [--connections 16] [--seconds 10]

URL is a role allowed to create databases; the defaults come from
RECAUDIT_TEST_POSTGRES_URL and RECAUDIT_TEST_KAFKA.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.http.servers import BenchError, ServerProcess, embedded_env, recaudit_serve, set_policies

CONFLICTS = re.compile(rb"(\d+) write conflicts retried")


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"recaudit_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run_count(count: int, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    with fresh_database(args.postgres_url) as url:
        env = embedded_env({"RECAUDIT_POSTGRES_URL": url, "RECAUDIT_KAFKA_BOOTSTRAP": args.kafka,
                            "RECAUDIT_KAFKA_TOPIC": f"bench-scale-{tag}",
                            "RECAUDIT_KAFKA_DLQ_TOPIC": f"bench-scale-{tag}.dlq"})
        servers: list[ServerProcess] = []
        with ExitStack() as stack:
            for n in range(count):
                servers.append(stack.enter_context(
                    recaudit_serve(root / f"{count}-{n}", env)))
            set_policies(servers[0].url)
            figures = drive_all(servers, args)
        conflicts = sum(_conflicts(server) for server in servers)
    return summarise(count, figures, conflicts)


def drive_all(servers: list[ServerProcess], args: argparse.Namespace) -> list[dict[str, Any]]:
    per = max(1, args.connections // len(servers))
    running = [subprocess.Popen(
        [sys.executable, "-m", "bench.http.load", "--url", server.url, "--connections",
         str(per), "--seconds", str(args.seconds), "--warmup", str(args.warmup),
         "--seed", str(100 + n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for n, server in enumerate(servers)]
    figures = []
    for process in running:
        out, err = process.communicate(timeout=args.warmup + args.seconds + 300)
        if process.returncode != 0:
            raise BenchError(f"a load generator failed: {err.decode()[-2000:]}")
        figures.append(json.loads(out.decode().strip().splitlines()[-1]))
    return figures


def _conflicts(server: ServerProcess) -> int:
    found = CONFLICTS.findall(server.log.read_bytes())
    if not found:
        raise BenchError(f"the server did not report its conflicts: {server.tail()}")
    return int(found[-1])


def summarise(count: int, figures: list[dict[str, Any]], conflicts: int) -> dict[str, Any]:
    return {"processes": count, "rate": sum(f["rate"] for f in figures),
            "p50_ms": max(f["p50_ms"] for f in figures),
            "p99_ms": max(f["p99_ms"] for f in figures),
            "requests": sum(f["requests"] for f in figures), "conflicts": conflicts,
            "mismatches": [m for f in figures for m in f["mismatches"]]}


def report(rows: list[dict[str, Any]], load: tuple[float, float]) -> str:
    lines = [f"bench.scale: load {load[0]:.1f} -> {load[1]:.1f}",
             f"{'processes':<10}{'commands':>10}{'cmd/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
             f"{'conflicts retried':>19}  answers"]
    for r in rows:
        check = "ok" if not r["mismatches"] else "WRONG: " + "; ".join(r["mismatches"][:3])
        lines.append(f"{r['processes']:<10}{r['requests']:>10}{r['rate']:>9.0f}"
                     f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['conflicts']:>19}  {check}")
    base = rows[0]["rate"] or 1.0
    lines.append("scaling: " + ", ".join(f"{r['processes']} -> {r['rate'] / base:.2f}x"
                                         for r in rows))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("RECAUDIT_TEST_POSTGRES_URL"))
    parser.add_argument("--kafka", default=os.environ.get("RECAUDIT_TEST_KAFKA"))
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.postgres_url or not args.kafka:
        parser.error("--postgres-url and --kafka are needed (or RECAUDIT_TEST_POSTGRES_URL "
                     "and RECAUDIT_TEST_KAFKA)")
    counts = [int(c) for c in args.processes.split(",")]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="recaudit-bench-scale-") as tmp:
        rows = [run_count(count, Path(tmp), args) for count in counts]
    print(report(rows, (load_before, os.getloadavg()[0])), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
