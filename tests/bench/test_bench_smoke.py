"""The command-throughput benchmark runs end to end on a tiny workload and prints its figures.

No timing is asserted: the figures depend on the machine. What is checked is that every
phase ran, answered as the rules say and stored the expected events, and that a system
giving wrong answers is reported as such rather than measured as if it were right.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import commands
from bench.commands import ACCEPTED, PlannedCall, Round, Session, Workload
from domain.rules import Command, Mode
from recaudit.workloads import CallScript

PHASES = ["bare eventsourcing", "recaudit in-process", "recaudit HTTP"]


def test_a_tiny_run_prints_every_figure_and_checks_its_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    argv = ["--commands", "40", "--threads", "2", "--rounds", "1", "--seconds", "30",
            "--warmup-calls", "1", "--out", str(out)]

    assert commands.main(argv) == 0

    printed = capsys.readouterr().out
    for name in PHASES:
        row = next(line for line in printed.splitlines() if line.startswith(name))
        rate, p50, p99 = row[len(name):].split()[2:5]
        assert float(rate) > 0 and float(p50) > 0 and float(p99) >= float(p50)
        assert re.search(rf"^  {name}\s+ok: \d+ accepted, \d+ refused, 0 unexpected", printed,
                         re.MULTILINE), printed
    assert re.search(r"in-process / bare: \d+\.\d\dx\s+HTTP / bare: \d+\.\d\dx", printed)
    assert re.search(r"target \(group commit >= 3x bare with p99 <= 20 ms\): (MET|NOT MET)",
                     printed)
    assert "journal_mode=wal" in printed and "WARNING" not in printed

    figures = json.loads(out.read_text())
    assert [p["name"] for p in figures["phases"]] == PHASES
    for phase in figures["phases"]:
        assert phase["correct"] and phase["commands"] >= 40
        assert phase["events_stored"] == phase["events_expected"] > 0
    in_process = figures["phases"][1]
    assert in_process["refused"] > 0, "the workload must include refused commands"
    assert in_process["avg_batch"] is not None and in_process["avg_batch"] >= 1


class AcceptsEverything:
    """A system under test that says yes to every command and stores nothing."""

    name = "accepts everything"

    def prepare(self) -> None:
        pass

    def session(self) -> Session:
        return self

    def start(self, call: CallScript) -> str:
        return ACCEPTED

    def step(self, call: CallScript, index: int) -> str:
        return ACCEPTED

    def stored_events(self) -> int:
        return 0

    def batch_counts(self) -> None:
        return None

    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]:
        return call.outcomes, call.events

    def store_settings(self) -> dict[str, str]:
        return {"journal_mode": "none", "synchronous": "none"}

    def close(self) -> None:
        pass


def test_wrong_answers_are_reported_not_measured() -> None:
    workload = commands.make_workload(200, threads=2, warmup_calls=0, seed=3)
    target = AcceptsEverything()

    result = Round(target, workload, seconds=30).run()
    summary = commands.summarise_phase(target.name, 2, [result], target.store_settings())

    refusals_expected = sum(o != ACCEPTED for c in _calls(workload) for o in c.outcomes)
    assert refusals_expected > 0
    assert summary.mismatches == refusals_expected
    assert summary.events_stored == 0 < summary.events_expected
    assert not summary.correct


def test_expected_answers_follow_the_rules_for_a_known_script() -> None:
    workload = commands.make_workload(400, threads=1, warmup_calls=0, seed=5)
    always_on = [c for c in _calls(workload) if c.script.mode is Mode.ALWAYS_ON]
    with_pause = next(c for c in always_on if c.script.steps[0].command is Command.PAUSE)

    assert with_pause.outcomes == (ACCEPTED, "not_permitted", ACCEPTED)
    # started, automatic RecordingStarted, the refusal recorded, ended
    assert with_pause.events == 4
    assert all(c.outcomes[0] == ACCEPTED and c.script.steps[-1].command is Command.END
               for c in always_on), "every call starts, and ends with an end"


def _calls(workload: Workload) -> list[PlannedCall]:
    return [call for calls in workload.measured for call in calls]


def test_the_access_log_benchmark_prints_both_kinds_with_and_without(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import access

    out = tmp_path / "access.json"
    assert access.main(["--calls", "3", "--seconds", "0.5", "--clients", "2",
                        "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for kind in access.KINDS:
        rows = [line.split() for line in printed.splitlines() if line.startswith(kind)]
        assert [row[1] for row in rows] == ["on", "off"]
        assert all(int(row[2]) > 0 and float(row[3]) > 0 for row in rows)
        assert re.search(rf"{kind} with the log / without: \d+\.\d\dx \(target >= 0\.7x: "
                         r"(MET|NOT MET)\)", printed)
    figures = json.loads(out.read_text())
    assert set(figures) == set(access.KINDS)
