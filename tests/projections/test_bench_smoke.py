"""`python -m bench.projections` runs end to end on a small stream and prints its verdicts."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.clickhouse

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_on_a_small_stream(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.projections", "--events", "3000", "--batch", "700",
         "--rounds", "2", "--queries", "40", "--validate-calls", "8", "--holds", "12",
         "--list-queries", "5", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert re.search(r"3,000 generated events \([\d,]+ calls\) in a real SQLite event store",
                     text)
    assert re.search(r"checked against RecordingService: \d+ events identical", text)
    assert re.search(r"[\d,]+ stored events decoded back identical", text)
    for line in ("rebuild (as rebuild-projections: the store read", "raw insert of the same",
                 "(batches of 700, bare client)", "rebuild / raw rate",
                 "timeline of one call (40 random calls)"):
        assert line in text, line
    assert len(re.findall(r"\[target [^\]]*: (?:MET|NOT MET)\]", text)) == 3
    assert "rebuild and baseline: medians of 2 rounds, each a rebuild then the raw insert" in text
    assert len(re.findall(r"rounds: [\d.]+ s, [\d.]+ s$", text, re.MULTILINE)) == 2
    assert re.search(r"with 12 legal holds \(2 released; [\d,]+ calls on hold\)", text)
    for page in ("unfiltered", "legal_hold=true"):
        assert re.search(rf"{page}: legal_hold computed from the holds p50 [\d.]+ ms, "
                         r"p99 [\d.]+ ms; baseline, the stored column, p50 [\d.]+ ms", text)
    figures = json.loads(out.read_text())
    assert figures["rounds"] == 2
    assert len(figures["rebuild_rounds_s"]) == len(figures["raw_rounds_s"]) == 2
    assert figures["rebuild_s"] == statistics.median(figures["rebuild_rounds_s"])
    assert figures["raw_s"] == statistics.median(figures["raw_rounds_s"])


def test_rounds_below_one_are_refused_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.projections", "--rounds", "0", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--holds, --list-queries and --rounds must be at least 1" in result.stderr
    assert result.stdout == "" and not out.exists()
