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
import itertools
import json
import math
import os
import random
import resource
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid5

import httpx
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from domain.clock import iso_millis
from domain.rules import CallState, Mode, initial_state, next_state, rule_refusal
from recaudit.bootstrap import Backend, build
from recaudit.core.service import CallResult
from recaudit.http.routes import command_path
from recaudit.http.server import BackgroundServer
from recaudit.settings import Settings
from recaudit.workloads import CallScript, call_script

ACCEPTED = "accepted"
ORGS = {mode: f"bench-{mode.value.replace('_', '-')}" for mode in Mode}
TARGET_RATIO = 3.0
TARGET_P99_MS = 20.0
BARE_NAMESPACE = UUID("0b9f5a52-3c1d-4e7f-8a6b-2d4c9e1f7a30")


class BenchError(RuntimeError):
    """The benchmark could not run its workload as planned."""


# -- the workload ---------------------------------------------------------------


@dataclass(frozen=True)
class PlannedCall:
    """A call script with what the rules say each of its commands must get."""

    script: CallScript
    outcomes: tuple[str, ...]  # the start's, then one per step
    events: int  # events recaudit stores for the whole call

    @property
    def commands(self) -> int:
        return len(self.outcomes)


def expect(script: CallScript) -> PlannedCall:
    state = initial_state(script.mode)
    outcomes = [ACCEPTED]
    for step in script.steps:
        refusal = rule_refusal(script.mode, state, step.command)
        if refusal is None:
            state = next_state(step.command)
        outcomes.append(ACCEPTED if refusal is None else refusal.value)
    automatic_start = initial_state(script.mode) is CallState.RECORDING
    return PlannedCall(script, tuple(outcomes), len(outcomes) + int(automatic_start))


@dataclass(frozen=True)
class Workload:
    warmup: tuple[tuple[PlannedCall, ...], ...]  # per client thread
    measured: tuple[tuple[PlannedCall, ...], ...]

    @property
    def threads(self) -> int:
        return len(self.measured)


def make_workload(commands: int, threads: int, warmup_calls: int, seed: int) -> Workload:
    """Calls of every mode, dealt round-robin to the threads, `commands` in all."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=1)
    counter = itertools.count()

    def next_call() -> PlannedCall:
        n = next(counter)
        mode = list(Mode)[n % len(Mode)]
        script = call_script(rng, f"bench-{seed}-{n:07d}", ORGS[mode], f"agent-{n % 50}",
                             mode, start + timedelta(seconds=n))
        return expect(script)

    warmup = tuple(tuple(next_call() for _ in range(warmup_calls)) for _ in range(threads))
    measured: list[list[PlannedCall]] = [[] for _ in range(threads)]
    total = 0
    for n in itertools.count():
        if total >= commands:
            break
        call = next_call()
        measured[n % threads].append(call)
        total += call.commands
    return Workload(warmup, tuple(tuple(calls) for calls in measured))


# -- what is driven ----------------------------------------------------------------


class Session(Protocol):
    """One client thread's connection to the system under test."""

    def start(self, call: CallScript) -> str: ...
    def step(self, call: CallScript, index: int) -> str: ...
    def close(self) -> None: ...


class Target(Protocol):
    name: str

    def prepare(self) -> None: ...
    def session(self) -> Session: ...
    def stored_events(self) -> int: ...
    def batch_counts(self) -> tuple[int, int] | None: ...
    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]: ...
    def store_settings(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class BareCall(Aggregate):
    """The smallest aggregate that does the same job: one event per command."""

    TOPIC = "bench.BareCall"

    class Created(Aggregate.Created):
        TOPIC = "bench.BareCall.Created"
        call_id: str
        org_id: str
        at: datetime

    class CommandRecorded(Aggregate.Event):
        TOPIC = "bench.BareCall.CommandRecorded"
        command: str
        at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.commands += 1

    def __init__(self, *, call_id: str, org_id: str, at: datetime) -> None:
        self.call_id = call_id
        self.commands = 0

    @classmethod
    def start(cls, call_id: str, org_id: str, at: datetime) -> BareCall:
        return cls._create(cls.Created, id=uuid5(BARE_NAMESPACE, call_id), call_id=call_id,
                           org_id=org_id, at=at)

    def record(self, command: str, at: datetime) -> None:
        self.trigger_event(self.CommandRecorded, command=command, at=at)


def store_pragmas(app: Application[Any]) -> dict[str, str]:
    recorder: Any = app.recorder
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = str(cursor.fetchone()[0])
        cursor.execute("PRAGMA synchronous")
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
    return {"journal_mode": journal, "synchronous": synchronous}


def store_env(data_dir: Path) -> dict[str, str]:
    """The event store settings recaudit uses, for any application on `data_dir`."""
    return Settings.from_env({}, data_dir=data_dir).event_store_env()


class BareSession:
    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.calls: dict[str, BareCall] = {}

    def start(self, call: CallScript) -> str:
        aggregate = BareCall.start(call.call_id, call.org_id, call.started_at)
        self.app.save(aggregate)
        self.calls[call.call_id] = aggregate
        return ACCEPTED

    def step(self, call: CallScript, index: int) -> str:
        aggregate = self.calls[call.call_id]
        step = call.steps[index]
        aggregate.record(step.command.value, step.at)
        self.app.save(aggregate)
        if index == len(call.steps) - 1:
            del self.calls[call.call_id]
        return ACCEPTED

    def close(self) -> None:
        self.calls.clear()


class BareTarget:
    """A plain eventsourcing application: one `save()` (one transaction) per command."""

    name = "bare eventsourcing"

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.app: Application[UUID] = Application(env=store_env(data_dir))

    def prepare(self) -> None:
        pass

    def session(self) -> Session:
        return BareSession(self.app)

    def stored_events(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def batch_counts(self) -> None:
        return None

    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]:
        return (ACCEPTED,) * call.commands, call.commands

    def store_settings(self) -> dict[str, str]:
        return store_pragmas(self.app)

    def close(self) -> None:
        self.app.close()


class ServiceSession:
    def __init__(self, backend: Backend) -> None:
        self.service = backend.service

    def start(self, call: CallScript) -> str:
        result = self.service.start_call(call_id=call.call_id, org_id=call.org_id,
                                         agent_id=call.agent_id, direction=call.direction,
                                         at=call.started_at, command_id=f"{call.call_id}-start")
        if result.status.mode is not call.mode:
            return f"started in mode {result.status.mode.value}"
        return _answer(result)

    def step(self, call: CallScript, index: int) -> str:
        step = call.steps[index]
        result = self.service.command(call.call_id, step.command, by=call.agent_id,
                                      at=step.at, command_id=f"{call.call_id}-{index}")
        return _answer(result)

    def close(self) -> None:
        pass


def _answer(result: CallResult) -> str:
    if result.replayed:
        return "replayed"
    return result.refusal.value if result.refusal is not None else ACCEPTED


class ServiceTarget:
    """recaudit's RecordingService, called directly: writes go through group commit."""

    name = "recaudit in-process"

    def __init__(self, data_dir: Path) -> None:
        self.backend = build(Settings.from_env({}, data_dir=data_dir))

    def prepare(self) -> None:
        for mode, org in ORGS.items():
            self.backend.service.set_policy(org, mode=mode, changed_by="bench")

    def session(self) -> Session:
        return ServiceSession(self.backend)

    def stored_events(self) -> int:
        return self.backend.store.head()

    def batch_counts(self) -> tuple[int, int]:
        return self.backend.committer.jobs, self.backend.committer.batches

    def expected(self, call: PlannedCall) -> tuple[tuple[str, ...], int]:
        return call.outcomes, call.events

    def store_settings(self) -> dict[str, str]:
        return store_pragmas(self.backend.store)

    def close(self) -> None:
        self.backend.close()


class HttpSession:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=60)

    def start(self, call: CallScript) -> str:
        body = {"call_id": call.call_id, "org_id": call.org_id, "agent_id": call.agent_id,
                "direction": call.direction, "at": iso_millis(call.started_at),
                "command_id": f"{call.call_id}-start"}
        response = self.client.post("/calls", json=body)
        if response.status_code == 201 and response.json()["mode"] != call.mode.value:
            return f"started in mode {response.json()['mode']}"
        return _outcome(response, success=201)

    def step(self, call: CallScript, index: int) -> str:
        step = call.steps[index]
        body = {"by": call.agent_id, "at": iso_millis(step.at),
                "command_id": f"{call.call_id}-{index}"}
        path = command_path(step.command, call.call_id)
        return _outcome(self.client.post(path, json=body), success=200)

    def close(self) -> None:
        self.client.close()


def _outcome(response: httpx.Response, *, success: int) -> str:
    if response.status_code == success:
        return ACCEPTED
    if response.status_code == 409:
        return str(response.json()["error"]["code"])
    raise BenchError(f"{response.request.method} {response.request.url} answered "
                     f"{response.status_code}: {response.text[:300]}")


class HttpTarget(ServiceTarget):
    """The same service behind the FastAPI app, served by uvicorn on a background thread."""

    name = "recaudit HTTP"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.server = BackgroundServer(self.backend.app)  # started by the caller

    def prepare(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            for mode, org in ORGS.items():
                response = client.put(f"/policies/{org}",
                                      json={"mode": mode.value, "changed_by": "bench"})
                if response.status_code != 200:
                    raise BenchError(f"setting the policy of {org} failed: {response.text}")

    def session(self) -> Session:
        return HttpSession(self.server.url)


# -- running one phase -------------------------------------------------------------


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


# -- the whole run -------------------------------------------------------------------


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


class PhaseRunner:
    """Runs rounds of one kind of target, each on a fresh store under `root`."""

    def __init__(self, root: Path, label: str, workload: Workload, options: Options,
                 make: Callable[[Path, ExitStack], Target]) -> None:
        self.root, self.label, self.workload = root, label, workload
        self.seconds, self.make = options.seconds, make
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


def _bare(data_dir: Path, stack: ExitStack) -> Target:
    target = BareTarget(data_dir)
    stack.callback(target.close)
    return target


def _in_process(data_dir: Path, stack: ExitStack) -> Target:
    target = ServiceTarget(data_dir)
    stack.callback(target.close)
    return target


def _http(data_dir: Path, stack: ExitStack) -> Target:
    target = HttpTarget(data_dir)
    stack.callback(target.close)
    stack.enter_context(target.server)  # stopped before the backend closes
    return target


def run(options: Options) -> dict[str, Any]:
    workload = make_workload(options.commands, options.threads, options.warmup_calls,
                             options.seed)
    http_threads = options.http_threads or options.threads
    http_workload = workload if http_threads == options.threads else make_workload(
        options.commands, http_threads, options.warmup_calls, options.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="recaudit-bench-") as tmp:
        root = Path(tmp)
        bare = PhaseRunner(root, "bare", workload, options, _bare)
        in_process = PhaseRunner(root, "in-process", workload, options, _in_process)
        http = PhaseRunner(root, "http", http_workload, options, _http)
        for n in range(options.rounds):
            # Alternate the order so drifting load on the machine hits both alike.
            for runner in (bare, in_process) if n % 2 == 0 else (in_process, bare):
                runner.run_round()
        for _ in range(options.http_rounds):
            http.run_round()
    phases = [bare.summary(), in_process.summary(), http.summary()]
    return summarise(phases, options, (load_before, os.getloadavg()[0]))


def summarise(phases: list[PhaseSummary], options: Options,
              load: tuple[float, float] = (0.0, 0.0)) -> dict[str, Any]:
    bare, in_process, http = phases
    ratio = in_process.rate / bare.rate if bare.rate else 0.0
    met = ratio >= TARGET_RATIO and in_process.p99_ms <= TARGET_P99_MS
    return {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
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
        verdict = "ok" if p["correct"] else "WRONG"
        lines.append(
            f"  {p['name']:<21}{verdict}: {p['accepted']} accepted, {p['refused']} refused, "
            f"{p['mismatches']} unexpected; {p['events_stored']} events stored of "
            f"{p['events_expected']} expected"
        )
        lines += [f"    {m}" for m in p["first_mismatches"]]
    target = summary["target"]
    lines += [
        f"in-process / bare: {summary['ratio_in_process_to_bare']:.2f}x    "
        f"HTTP / bare: {summary['ratio_http_to_bare']:.2f}x",
        f"target (group commit >= {target['ratio']:.0f}x bare with p99 <= "
        f"{target['p99_ms']:.0f} ms): {'MET' if target['met'] else 'NOT MET'} "
        f"({summary['ratio_in_process_to_bare']:.2f}x, p99 {phases[1]['p99_ms']:.2f} ms)",
    ]
    if not all(p["correct"] for p in phases):
        lines.append("WARNING: a phase gave unexpected answers or stored an unexpected number "
                     "of events; its figures do not measure the intended path")
    return "\n".join(lines)


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


if __name__ == "__main__":
    raise SystemExit(main())
