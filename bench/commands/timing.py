"""Measuring a target: client threads timing every command, rounds, and a phase's figures.

Each thread first plays its warm-up calls, then all threads are released together and
the clock runs until the last one finishes its share (or the time cap is reached,
checked between calls). Every answer is compared with the one expected.
"""

from __future__ import annotations

import math
import resource
import statistics
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.commands.targets import BenchError, Opener, Session, Target
from bench.commands.workload import ACCEPTED, PlannedCall, Workload


@dataclass
class ClientTally:
    latencies_ms: list[float] = field(default_factory=list)
    calls: int = 0
    expected_events: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RoundResult:
    """One phase, run once on a fresh store."""

    seconds: float
    latencies_ms: list[float]  # sorted
    calls: int
    outcomes: Counter[str]
    mismatches: list[str]
    events_stored: int
    events_expected: int
    jobs_batches: tuple[int, int] | None  # group commit: jobs and batches while measuring
    cpu_seconds: float  # the whole process, every thread, user + system

    @property
    def commands(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds > 0 else 0.0


def play(session: Session, target: Target, call: PlannedCall, tally: ClientTally) -> None:
    outcomes, events = target.expected(call)
    script = call.script
    for n in range(call.commands):
        began = time.perf_counter()
        got = session.start(script) if n == 0 else session.step(script, n - 1)
        tally.latencies_ms.append((time.perf_counter() - began) * 1000)
        tally.outcomes[got] += 1
        if got != outcomes[n]:
            tally.mismatches.append(f"{script.call_id} command {n}: got {got}, "
                                    f"expected {outcomes[n]}")
    tally.calls += 1
    tally.expected_events += events


class Round:
    """Client threads that warm up, wait for each other, then play their calls."""

    def __init__(self, target: Target, workload: Workload, seconds: float) -> None:
        self.target = target
        self.workload = workload
        self.seconds = seconds
        self.ready = threading.Barrier(workload.threads + 1)
        self.go = threading.Barrier(workload.threads + 1)
        self.deadline = 0.0
        self.tallies = [ClientTally() for _ in range(workload.threads)]
        self.warmups = [ClientTally() for _ in range(workload.threads)]
        self.errors: list[BaseException] = []

    def client(self, n: int) -> None:
        session: Session | None = None
        try:
            session = self.target.session()
            for call in self.workload.warmup[n]:
                play(session, self.target, call, self.warmups[n])
            self.ready.wait()
            self.go.wait()
            for call in self.workload.measured[n]:
                if time.perf_counter() > self.deadline:
                    break
                play(session, self.target, call, self.tallies[n])
        except threading.BrokenBarrierError:
            pass
        except BaseException as exc:  # reported by run()
            self.errors.append(exc)
            self.ready.abort()
            self.go.abort()
        finally:
            if session is not None:
                session.close()

    def run(self) -> RoundResult:
        self.target.prepare()
        threads = [threading.Thread(target=self.client, args=(n,), name=f"client-{n}")
                   for n in range(self.workload.threads)]
        for thread in threads:
            thread.start()
        began, cpu_began = time.perf_counter(), process_cpu()
        try:
            self.ready.wait()
            events_before, batches_before = self.snapshot()
            began, cpu_began = time.perf_counter(), process_cpu()
            self.deadline = began + self.seconds
            self.go.wait()
        except threading.BrokenBarrierError:
            pass
        for thread in threads:
            thread.join()
        elapsed, cpu = time.perf_counter() - began, process_cpu() - cpu_began
        if self.errors:
            raise BenchError(f"{self.target.name}: a client failed: {self.errors[0]!r}") \
                from self.errors[0]
        events_after, batches_after = self.snapshot()
        return RoundResult(
            seconds=elapsed,
            latencies_ms=sorted(ms for t in self.tallies for ms in t.latencies_ms),
            calls=sum(t.calls for t in self.tallies),
            outcomes=sum((t.outcomes for t in self.tallies), Counter()),
            # Wrong answers while warming up count too: they would mean a broken path.
            mismatches=[m for t in self.warmups + self.tallies for m in t.mismatches],
            events_stored=events_after - events_before,
            events_expected=sum(t.expected_events for t in self.tallies),
            jobs_batches=_difference(batches_before, batches_after),
            cpu_seconds=cpu,
        )

    def snapshot(self) -> tuple[int, tuple[int, int] | None]:
        return self.target.stored_events(), self.target.batch_counts()


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _difference(before: tuple[int, int] | None, after: tuple[int, int] | None
                ) -> tuple[int, int] | None:
    if before is None or after is None:
        return None
    return after[0] - before[0], after[1] - before[1]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(pct / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


# -- one phase over its rounds -------------------------------------------------------


@dataclass(frozen=True)
class PhaseSummary:
    """A phase's rounds together: the median rate, latencies of every measured command."""

    name: str
    threads: int
    round_rates: list[float]
    rate: float
    commands: int
    calls: int
    p50_ms: float
    p99_ms: float
    avg_batch: float | None
    cpu_us: float  # process CPU time per measured command
    accepted: int
    refused: int
    mismatches: int
    events_stored: int
    events_expected: int
    store: dict[str, str]
    first_mismatches: list[str]

    @property
    def correct(self) -> bool:
        return self.mismatches == 0 and self.events_stored == self.events_expected


def summarise_phase(name: str, threads: int, rounds: list[RoundResult],
                    store: dict[str, str]) -> PhaseSummary:
    latencies = sorted(ms for r in rounds for ms in r.latencies_ms)
    outcomes = sum((r.outcomes for r in rounds), Counter())
    counts = [r.jobs_batches for r in rounds if r.jobs_batches is not None]
    batches = sum(b for _, b in counts)
    return PhaseSummary(
        name=name,
        threads=threads,
        round_rates=[r.rate for r in rounds],
        rate=statistics.median(r.rate for r in rounds),
        commands=len(latencies),
        calls=sum(r.calls for r in rounds),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        avg_batch=sum(j for j, _ in counts) / batches if batches else None,
        cpu_us=sum(r.cpu_seconds for r in rounds) / len(latencies) * 1e6 if latencies else 0.0,
        accepted=outcomes[ACCEPTED],
        refused=sum(outcomes.values()) - outcomes[ACCEPTED],
        mismatches=sum(len(r.mismatches) for r in rounds),
        events_stored=sum(r.events_stored for r in rounds),
        events_expected=sum(r.events_expected for r in rounds),
        store=store,
        first_mismatches=[m for r in rounds for m in r.mismatches][:5],
    )


class PhaseRunner:
    """Runs rounds of one kind of target, each on a fresh store under `root`."""

    def __init__(self, root: Path, label: str, workload: Workload, seconds: float,
                 make: Opener) -> None:
        self.root, self.label, self.workload = root, label, workload
        self.seconds, self.make = seconds, make
        self.rounds: list[RoundResult] = []
        self.name = ""
        self.store: dict[str, str] = {}

    def run_round(self) -> None:
        with ExitStack() as stack:
            target = self.make(self.root / f"{self.label}-{len(self.rounds) + 1}", stack)
            self.name, self.store = target.name, target.store_settings()
            self.rounds.append(Round(target, self.workload, self.seconds).run())

    def summary(self) -> PhaseSummary:
        return summarise_phase(self.name, self.workload.threads, self.rounds, self.store)
