"""The HTTP command path as a user drives it: `recaudit serve` against a trivial endpoint.

`recaudit serve` runs as a process of its own on a fresh data directory with the embedded
defaults (SQLite, the local feed, chdb, every consumer), and the load generator
(`bench.http.load`) runs in another process: whole calls with unique ids over N keep-alive
connections, a share of them refused by the rules. In the same run, the same generator
drives a trivial FastAPI endpoint with a pydantic body (`bench.http.trivial`) served by the
same uvicorn settings. Printed: req/s, p50/p99 of both, their ratio, the projection's lag
(a command's answer to its timeline showing it, via `?min_position=`), the server's RSS,
and MET / NOT MET per target. Nothing is asserted.

With `--only NAMES` (comma-separated, or `none`), recaudit runs with only those of its
background parts (the consumers call-states, projections and segments, the sealer, the
retention sweeper, the pause scheduler) beside the API, through `bench.http.parts`: what
the API gains against the whole pipeline is what the stopped parts cost it. Such a run
prints its figures and no verdict.

    python -m bench.http [--connections 16] [--seconds 15] [--warmup 3] [--only NAMES]
                         [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.http.servers import (
    EMBEDDED_PARTS,
    BenchError,
    ServerProcess,
    embedded_env,
    part_names,
    partial_serve,
    recaudit_serve,
    set_policies,
    trivial_server,
    unknown_parts,
)
from bench.verdict import verdict

TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0

__all__ = ["TARGET_P99_MS", "TARGET_RATIO", "BenchError", "Options", "main", "report", "run"]


@dataclass(frozen=True)
class Options:
    connections: int = 16
    seconds: float = 15.0
    warmup: float = 3.0
    seed: int = 1
    out: Path | None = None
    only: tuple[str, ...] | None = None  # None: every background part (`recaudit serve`)


def drive(server: ServerProcess, options: Options, *, trivial: bool,
          probe: bool = True) -> dict[str, Any]:
    """The load generator, in its own process, against `server`; its figures."""
    args = [sys.executable, "-m", "bench.http.load", "--url", server.url,
            "--connections", str(options.connections), "--seconds", str(options.seconds),
            "--warmup", str(options.warmup), "--seed", str(options.seed)]
    args += ["--trivial"] if trivial else ["--probe"] if probe else []
    done = subprocess.run(args, capture_output=True, text=True, check=False,
                          timeout=options.warmup + options.seconds + 300)
    if done.returncode != 0:
        raise BenchError(f"the load generator failed: {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures | server.memory()


def run(options: Options) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="recaudit-bench-http-") as tmp:
        root = Path(tmp)
        env = embedded_env()
        only = options.only
        whole = only is None  # a verdict is given on the whole pipeline only
        # The lag is the projection's: measured only where its consumer runs.
        lag_measured = whole or "projections" in only
        with trivial_server(root / "trivial.log", env) as server:
            trivial = drive(server, options, trivial=True)
        with (recaudit_serve(root / "data", env) if only is None
              else partial_serve(root / "data", env, only)) as server:
            set_policies(server.url)
            recaudit = drive(server, options, trivial=False, probe=lag_measured)
    ratio = recaudit["rate"] / trivial["rate"] if trivial["rate"] else 0.0
    return {"options": asdict(options) | {"out": str(options.out) if options.out else None},
            "load": [load_before, os.getloadavg()[0]], "trivial": trivial,
            "recaudit": recaudit, "ratio": ratio, "lag_measured": lag_measured,
            "ratio_met": ratio >= TARGET_RATIO if whole else None,
            "p99_met": (bool(recaudit["requests"]) and recaudit["p99_ms"] <= TARGET_P99_MS)
            if whole else None,
            "correct": not recaudit["mismatches"] and recaudit["requests"] > 0}


def report(summary: dict[str, Any]) -> str:
    o, t, r = summary["options"], summary["trivial"], summary["recaudit"]
    only = o["only"]
    name = "recaudit serve" if only is None else "recaudit, partial"
    lines = [f"bench.http: {o['connections']} connections, {o['seconds']:g} s measured after "
             f"{o['warmup']:g} s warm-up; load {summary['load'][0]:.1f} -> "
             f"{summary['load'][1]:.1f}",
             f"{'server':<20}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
             f"{'RSS MiB':>9}{'peak MiB':>10}"]
    for label, f in (("trivial FastAPI", t), (name, r)):
        lines.append(f"{label:<20}{f['requests']:>10}{f['rate']:>10.0f}{f['p50_ms']:>9.1f}"
                     f"{f['p99_ms']:>9.1f}{f['rss_mib']:>9.0f}{f['peak_rss_mib']:>10.0f}")
    check = ("ok" if summary["correct"] else "WRONG: " + "; ".join(r["mismatches"][:5]))
    lines.append(f"  recaudit answers: {r['calls']} whole calls, {r['accepted']} accepted, "
                 f"{r['refused']} refused as the rules say; {check}")
    if summary["lag_measured"]:
        lines.append(f"  projection lag (answer -> timeline with ?min_position=): p50 "
                     f"{r['lag_p50_ms']:.0f} ms, p99 {r['lag_p99_ms']:.0f} ms over "
                     f"{r['lag_samples']} samples, {r['lag_failures']} not shown in time")
    lines.append(f"recaudit / trivial: {summary['ratio']:.2f}x")
    if only is not None:
        lines.append(f"diagnostic run: background parts running beside the API: "
                     f"{', '.join(only) or 'none'}; the others stopped, so no verdict")
        return "\n".join(lines)
    lines.append(f"target (req/s >= {TARGET_RATIO}x trivial): {verdict(summary['ratio_met'])}")
    lines.append(f"target (p99 <= {TARGET_P99_MS:g} ms): {verdict(summary['p99_met'])}")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Options()
    parser.add_argument("--connections", type=int, default=d.connections)
    parser.add_argument("--seconds", type=float, default=d.seconds, help="measured time")
    parser.add_argument("--warmup", type=float, default=d.warmup,
                        help="seconds of load before measuring")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--only", type=part_names, default=None,
                        help="diagnostic: run only these background parts (comma-separated "
                             f"of {', '.join(EMBEDDED_PARTS)}; or none)")
    args = parser.parse_args(argv)
    if args.connections < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--connections and --seconds must be positive, --warmup not negative")
    if args.only is not None and (wrong := unknown_parts(args.only)) is not None:
        parser.error(f"--only: {wrong}")
    only = None if args.only is None else tuple(dict.fromkeys(args.only))
    return Options(args.connections, args.seconds, args.warmup, args.seed, args.out, only)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    summary = run(options)
    print(report(summary), flush=True)
    if options.out is not None:
        options.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0
