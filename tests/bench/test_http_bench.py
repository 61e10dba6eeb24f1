"""The HTTP benchmark runs end to end at a tiny scale and prints every figure.

No timing is asserted. What is checked is that both servers ran as processes of their own,
answered the generator's whole calls, that recaudit's answers are the ones the rules give
and its projection caught up, and that a server giving wrong answers is reported as such.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import http
from bench.http.servers import embedded_env, trivial_server


def test_a_tiny_run_prints_every_figure(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"

    assert http.main(["--connections", "2", "--seconds", "2", "--warmup", "0.5",
                      "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    for name in ("trivial FastAPI", "recaudit serve"):
        row = next(line for line in printed.splitlines() if line.startswith(name))
        requests, rate, p50, p99, rss, peak = (float(x) for x in row[len(name):].split())
        assert requests > 0 and rate > 0 and 0 < p50 <= p99 and 0 < rss <= peak
    assert re.search(r"recaudit answers: \d+ whole calls, \d+ accepted, \d+ refused as the "
                     r"rules say; ok", printed), printed
    assert re.search(r"projection lag .*: p50 \d+ ms, p99 \d+ ms over [1-9]\d* samples",
                     printed), printed
    assert re.search(r"recaudit / trivial: \d+\.\d\dx", printed)
    assert re.search(r"target \(req/s >= 0.7x trivial\): (MET|NOT MET)", printed)
    assert re.search(r"target \(p99 <= 50 ms\): (MET|NOT MET)", printed)

    figures = json.loads(out.read_text())
    recaudit = figures["recaudit"]
    assert figures["correct"] and recaudit["mismatches"] == [] and figures["lag_measured"]
    assert recaudit["accepted"] > 0 and recaudit["refused"] > 0, "refusals are part of the load"
    assert recaudit["lag_p99_ms"] >= recaudit["lag_p50_ms"] > 0
    assert figures["trivial"]["refused"] == 0


def test_wrong_answers_are_reported_not_measured(tmp_path: Path) -> None:
    """The trivial server accepts every command; checked against the rules, the refusals
    the rules call for show up as mismatches."""
    with trivial_server(tmp_path / "trivial.log", embedded_env()) as server:
        done = subprocess.run(
            [sys.executable, "-m", "bench.http.load", "--url", server.url,
             "--connections", "2", "--seconds", "1", "--warmup", "0"],
            capture_output=True, text=True, check=True, timeout=120)
    figures = json.loads(done.stdout)
    assert figures["requests"] > 0
    assert figures["mismatches"], "accepting what the rules refuse must be reported"
    assert all("where" in m and "was due" in m for m in figures["mismatches"])


def test_a_diagnostic_run_names_its_parts_and_gives_no_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"

    assert http.main(["--connections", "2", "--seconds", "1", "--warmup", "0.3",
                      "--only", "call-states,segments", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("recaudit, partial"))
    requests, rate = (float(x) for x in row[len("recaudit, partial"):].split()[:2])
    assert requests > 0 and rate > 0
    assert re.search(r"recaudit answers: \d+ whole calls, \d+ accepted, \d+ refused as the "
                     r"rules say; ok", printed), printed
    assert ("diagnostic run: background parts running beside the API: call-states, "
            "segments; the others stopped, so no verdict") in printed
    assert "target (" not in printed and "projection lag" not in printed, printed
    figures = json.loads(out.read_text())
    assert figures["options"]["only"] == ["call-states", "segments"]
    assert figures["ratio_met"] is None and figures["p99_met"] is None
    assert figures["correct"] and not figures["lag_measured"]
    assert figures["recaudit"]["lag_samples"] == figures["recaudit"]["lag_failures"] == 0


def test_an_unknown_part_is_refused_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"

    with pytest.raises(SystemExit) as exit_:
        http.main(["--only", "segments,relay", "--out", str(out)])

    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert ("--only: no background part named relay in the embedded defaults (known: "
            "call-states, projections, segments, sealer, retention, pause-scheduler)") in error
    assert not out.exists()


def test_the_partial_server_refuses_an_unknown_part_and_makes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "bench.http.parts", "--data-dir", str(data),
                           "--port", "1", "--only", "sweeper"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2
    assert "no background part named sweeper in the embedded defaults" in done.stderr
    assert done.stdout == "" and not data.exists()
