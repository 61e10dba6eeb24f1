"""Command throughput: bare `eventsourcing` against recaudit in-process and over HTTP.

Every round of every phase runs on its own fresh SQLite file (WAL, library
defaults) in a temporary directory. The bare and in-process phases use the same
client threads and alternate, round by round, so a change in the machine's
load hits both alike; the rate reported is the median of the rounds. Each
thread first plays a few warm-up calls, then all threads are released together
and the clock runs until the last one finishes its share (or the time cap is
reached, checked between calls). Answers are checked against what the rules
say each command should get, and the events stored are counted, so a broken
path cannot pass for a fast one.

    python -m bench.commands [--commands N] [--threads T] [--rounds R] [--seconds S]
                             [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The parts, by role: workload (the calls driven and the answers they must get), targets
# (the systems measured), timing (client threads, rounds, percentiles), report (the printed
# figures and the verdict). This module runs the phases and holds the command line.
from bench.commands.report import TARGET_P99_MS, TARGET_RATIO, report, summarise
from bench.commands.targets import (
    BenchError,
    Session,
    Target,
    open_bare,
    open_http,
    open_in_process,
)
from bench.commands.timing import PhaseRunner, PhaseSummary, Round, summarise_phase
from bench.commands.workload import ACCEPTED, PlannedCall, Workload, make_workload

__all__ = [
    "ACCEPTED", "TARGET_P99_MS", "TARGET_RATIO", "BenchError", "Options", "PhaseSummary",
    "PlannedCall", "Round", "Session", "Target", "Workload", "main", "make_workload", "parse",
    "report", "run", "summarise", "summarise_phase",
]


@dataclass(frozen=True)
class Options:
    commands: int = 12000
    threads: int = 32
    http_threads: int | None = None
    rounds: int = 3
    http_rounds: int = 1
    seconds: float = 20.0
    warmup_calls: int = 2
    seed: int = 11
    out: Path | None = None


def run(options: Options) -> dict[str, Any]:
    workload = make_workload(options.commands, options.threads, options.warmup_calls,
                             options.seed)
    http_threads = options.http_threads or options.threads
    http_workload = workload if http_threads == options.threads else make_workload(
        options.commands, http_threads, options.warmup_calls, options.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="recaudit-bench-") as tmp:
        root = Path(tmp)
        bare = PhaseRunner(root, "bare", workload, options.seconds, open_bare)
        in_process = PhaseRunner(root, "in-process", workload, options.seconds, open_in_process)
        http = PhaseRunner(root, "http", http_workload, options.seconds, open_http)
        for n in range(options.rounds):
            # Alternate the order so drifting load on the machine hits both alike.
            for runner in (bare, in_process) if n % 2 == 0 else (in_process, bare):
                runner.run_round()
        for _ in range(options.http_rounds):
            http.run_round()
    phases = [bare.summary(), in_process.summary(), http.summary()]
    return summarise(phases, asdict(options), (load_before, os.getloadavg()[0]))


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.commands", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Options()
    parser.add_argument("--commands", type=int, default=d.commands,
                        help="commands measured per round (warm-up not included)")
    parser.add_argument("--threads", type=int, default=d.threads,
                        help="client threads (bare and in-process, and HTTP unless given)")
    parser.add_argument("--http-threads", type=int, default=None,
                        help="client threads for the HTTP phase (default: --threads)")
    parser.add_argument("--rounds", type=int, default=d.rounds,
                        help="rounds of the bare and in-process phases")
    parser.add_argument("--http-rounds", type=int, default=d.http_rounds)
    parser.add_argument("--seconds", type=float, default=d.seconds,
                        help="cap on each round's measured time, checked between calls")
    parser.add_argument("--warmup-calls", type=int, default=d.warmup_calls,
                        help="calls each client thread plays before measuring")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.commands, args.threads, args.rounds, args.http_rounds) < 1 or args.seconds <= 0:
        parser.error("--commands, --threads, --rounds, --http-rounds and --seconds must be "
                     "positive")
    if args.http_threads is not None and args.http_threads < 1:
        parser.error("--http-threads must be positive")
    return Options(args.commands, args.threads, args.http_threads, args.rounds,
                   args.http_rounds, args.seconds, args.warmup_calls, args.seed, args.out)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    summary = run(options)
    print(report(summary))
    if options.out is not None:
        options.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0
