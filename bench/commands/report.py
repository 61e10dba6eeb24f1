"""The figures of a run: the phases next to the bare baseline, the ratios and the verdict."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.commands.timing import PhaseSummary
from bench.verdict import verdict

TARGET_RATIO = 3.0
TARGET_P99_MS = 20.0


def summarise(phases: list[PhaseSummary], options: Mapping[str, Any],
              load: tuple[float, float] = (0.0, 0.0)) -> dict[str, Any]:
    """The run as JSON-ready figures; `phases` are bare, in-process and HTTP, in that order."""
    bare, in_process, http = phases
    ratio = in_process.rate / bare.rate if bare.rate else 0.0
    met = ratio >= TARGET_RATIO and in_process.p99_ms <= TARGET_P99_MS
    return {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        "cpus": os.cpu_count(),
        "load_average": load,
        "phases": [asdict(p) | {"correct": p.correct} for p in phases],
        "ratio_in_process_to_bare": ratio,
        "ratio_http_to_bare": http.rate / bare.rate if bare.rate else 0.0,
        "target": {"ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS, "met": met},
    }


def report(summary: dict[str, Any]) -> str:
    phases = summary["phases"]
    store = phases[0]["store"]
    lines = [
        f"command throughput: a fresh SQLite file per round (journal_mode="
        f"{store['journal_mode']}, synchronous={store['synchronous']})",
        f"{summary['cpus']} CPUs, load average {summary['load_average'][0]:.1f} before and "
        f"{summary['load_average'][1]:.1f} after; warm-up excluded",
        "cmd/s: median of the rounds; cpu us: process CPU time per command, all threads",
        f"{'phase':<21}{'threads':>8}{'commands':>9}{'cmd/s':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'batch':>7}{'cpu us':>8}  rounds (cmd/s)",
    ]
    for p in phases:
        batch = f"{p['avg_batch']:.1f}" if p["avg_batch"] is not None else "-"
        rounds = ", ".join(f"{r:.0f}" for r in p["round_rates"])
        lines.append(
            f"{p['name']:<21}{p['threads']:>8}{p['commands']:>9}{p['rate']:>7.0f}"
            f"{p['p50_ms']:>8.2f}{p['p99_ms']:>8.2f}{batch:>7}{p['cpu_us']:>8.0f}  {rounds}"
        )
    lines.append("answers checked against the rules, events counted in the store:")
    for p in phases:
        correct = "ok" if p["correct"] else "WRONG"
        lines.append(
            f"  {p['name']:<21}{correct}: {p['accepted']} accepted, {p['refused']} refused, "
            f"{p['mismatches']} unexpected; {p['events_stored']} events stored of "
            f"{p['events_expected']} expected"
        )
        lines += [f"    {m}" for m in p["first_mismatches"]]
    target = summary["target"]
    lines += [
        f"in-process / bare: {summary['ratio_in_process_to_bare']:.2f}x    "
        f"HTTP / bare: {summary['ratio_http_to_bare']:.2f}x",
        f"target (group commit >= {target['ratio']:.0f}x bare with p99 <= "
        f"{target['p99_ms']:.0f} ms): {verdict(target['met'])} "
        f"({summary['ratio_in_process_to_bare']:.2f}x, p99 {phases[1]['p99_ms']:.2f} ms)",
    ]
    if not all(p["correct"] for p in phases):
        lines.append("WARNING: a phase gave unexpected answers or stored an unexpected number "
                     "of events; its figures do not measure the intended path")
    return "\n".join(lines)
