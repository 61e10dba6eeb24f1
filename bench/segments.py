"""Segment store throughput: audio stored and events applied, against plain writes with fsync.

The workload streams N calls at once in simulated real time: every call sends a
chunk each `--chunk-ms`, agents pause, resume, stop and restart recordings now
and then (modes mixed, both pause behaviours), the consumer applies new events
every 200 ms and the lateness sweeper runs every second, on a clock that
follows the media. Only the segment desk's own work is timed (ingestion,
applying events, sweeps); the command service is not. The baseline, measured
in the same run, writes the very same number of files of the same sizes with
plain `write` + `fsync` (no temporary file, no rename, no directory fsync).
Results are checked: every recording must be finished and its length must
match its manifest, so a broken path cannot pass for a fast one.

    python -m bench.segments [--calls N] [--seconds S] [--rate R] [--chunk-ms C]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from consumers.segments import AudioLimits, FilesystemSegmentStore, OsFileOps, SegmentDesk, library
from consumers.segments.audio import EPOCH, first_sample
from domain.rules import Command, Mode, PauseBehavior
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import event_store
from recaudit.bootstrap.segments import commit_barrier, latest_version
from recaudit.core.committer import GroupCommitter
from recaudit.core.service import RecordingService
from recaudit.settings import Settings

T = TypeVar("T")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
APPLY_MS, SWEEP_MS, LATENESS_MS = 200, 1000, 2000
HABITS = {
    Mode.ALWAYS_ON: [],
    Mode.PAUSE_RESUME: [Command.PAUSE, Command.RESUME],
    Mode.ON_DEMAND: [Command.START, Command.PAUSE, Command.RESUME],
    Mode.ON_DEMAND_UIS: [Command.START, Command.PAUSE, Command.RESUME, Command.STOP],
}


class BenchError(RuntimeError):
    """The benchmark's results do not check out."""


class CountingOps(OsFileOps):
    """The real OS calls, counting the files and bytes the store writes."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self._open: dict[int, int] = {}

    def create(self, path: str) -> int:
        fd = super().create(path)
        self._open[fd] = len(self.sizes)
        self.sizes.append(0)
        return fd

    def write(self, fd: int, data: bytes) -> int:
        count = super().write(fd, data)
        self.sizes[self._open[fd]] += count
        return count


@dataclass
class Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def plan(rng: random.Random, calls: int, seconds: int) -> dict[int, list[tuple[str, Command]]]:
    """Commands by the millisecond they are sent at: a few per call, spread over it."""
    by_ms: dict[int, list[tuple[str, Command]]] = {}
    for n in range(calls):
        habits = HABITS[list(Mode)[n % 4]]
        moments = sorted(rng.sample(range(200, seconds * 1000 - 200, 20), k=2 * len(habits)))
        for ms, command in zip(moments, habits * 2, strict=True):
            by_ms.setdefault(ms, []).append((f"call-{n}", command))
        by_ms.setdefault(seconds * 1000, []).append((f"call-{n}", Command.END))
    return by_ms


def run(calls: int, seconds: int, rate: int, chunk_ms: int, workdir: Path) -> dict[str, Any]:
    clock_ms = [0]

    def clock() -> datetime:
        return START + timedelta(milliseconds=clock_ms[0])

    workdir.mkdir()
    events = event_store(Settings.from_env({}, data_dir=workdir))
    committer = GroupCommitter(events)
    ops = CountingOps()
    desk = SegmentDesk(FilesystemSegmentStore(workdir / "recordings", ops),
                       limits=AudioLimits(lateness_ms=LATENESS_MS), clock=clock,
                       call_version=latest_version(events), barrier=commit_barrier(committer))
    service = RecordingService(events, committer, clock=clock, watermark=desk)
    start_calls(service, calls)
    commands = plan(random.Random(7), calls, seconds)
    feed, timer, position, applied = LocalFeed(events), Timer(), 0, 0
    samples = rate * chunk_ms // 1000
    chunk = bytes(range(256)) * (2 * samples // 256) + bytes(2 * samples % 256)
    base = first_sample(START, rate)
    next_apply, next_sweep = 0, 0
    for ms in range(0, seconds * 1000 + chunk_ms, chunk_ms):
        clock_ms[0] = ms + chunk_ms
        at = EPOCH + timedelta(microseconds=(base + ms * rate // 1000) * 1_000_000 // rate)
        for n in range(calls):
            timer.run("ingest", partial(desk.ingest, f"call-{n}", at, rate, chunk))
        for step in range(ms, ms + chunk_ms):
            for call_id, command in commands.get(step, []):
                service.command(call_id, command, by="agent",
                                at=START + timedelta(milliseconds=step))
        if ms >= next_apply:
            next_apply += APPLY_MS
            batch, position = feed.read(position, 10_000)
            applied += len(batch)
            if batch:
                timer.run("apply", partial(desk.apply, batch))
        if ms >= next_sweep:
            next_sweep += SWEEP_MS
            timer.run("sweep", desk.sweep)
    clock_ms[0] += LATENESS_MS + SWEEP_MS
    batch, position = feed.read(position, 10_000)
    applied += len(batch)
    timer.run("apply", lambda: desk.apply(batch))
    timer.run("sweep", desk.sweep)
    stored = check(desk, calls)
    committer.close()
    events.close()
    return {"stored_s": stored, "events": applied, "timer": timer.seconds, "sizes": ops.sizes}


def start_calls(service: RecordingService, calls: int) -> None:
    """Every mode, with both pause behaviours; all calls start together."""
    for n, mode in enumerate(Mode):
        for behavior in PauseBehavior:
            service.set_policy(f"org-{n}-{behavior.value}", mode=mode, changed_by="bench",
                               pause_behavior=behavior)
    for n in range(calls):
        behavior = list(PauseBehavior)[n // 4 % 2]
        service.start_call(call_id=f"call-{n}", org_id=f"org-{n % 4}-{behavior.value}",
                           agent_id="agent", direction="inbound", at=START)


def check(desk: SegmentDesk, calls: int) -> float:
    """Seconds of audio stored; every recording must be finished and as long as it says."""
    total_ms = 0
    for n in range(calls):
        for manifest in library.recordings(desk, f"call-{n}"):
            if manifest["state"] != "closed":
                raise BenchError(f"call-{n} recording {manifest['recording_no']} is not finished")
            stored = library.wav(desk, f"call-{n}", manifest["recording_no"])
            size = stored.size
            if size != manifest["bytes"] + 44 or sum(len(b) for b in stored.read()) != size:
                raise BenchError(f"call-{n} recording {manifest['recording_no']} has a bad size")
            total_ms += manifest["recorded_ms"]
    if desk.entries() != 0 or desk.held_bytes() != 0:
        raise BenchError("calls were left unfinished or audio left in memory")
    return total_ms / 1000


def raw_writes(sizes: list[int], workdir: Path) -> float:
    """Seconds to write files of these sizes with plain write + fsync."""
    workdir.mkdir()
    payload = bytes(max(sizes, default=0))
    started = time.perf_counter()
    for n, size in enumerate(sizes):
        fd = os.open(workdir / f"{n}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, payload[:size])
            os.fsync(fd)
        finally:
            os.close(fd)
    return time.perf_counter() - started


def report(args: argparse.Namespace, result: dict[str, Any], raw_s: float) -> Iterator[str]:
    timer, stored = result["timer"], result["stored_s"]
    desk_s = sum(timer.values())
    sizes = result["sizes"]
    yield (f"segments: {args.calls} calls x {args.seconds} s at {args.rate} Hz, "
           f"{args.chunk_ms} ms chunks, lateness {LATENESS_MS} ms, sweeps every {SWEEP_MS} ms")
    yield (f"store:  {stored:.0f} s of audio stored in {desk_s:.2f} s of desk time "
           f"(ingest {timer.get('ingest', 0):.2f}, apply {timer.get('apply', 0):.2f}, "
           f"sweep {timer.get('sweep', 0):.2f}) = {stored / desk_s:.0f} audio s per wall s")
    yield (f"events: {result['events']} applied in {timer.get('apply', 0):.2f} s "
           f"= {result['events'] / timer.get('apply', 1):.0f} events/s (with their audio writes)")
    yield (f"raw:    the same {sum(sizes) / 1e6:.1f} MB in {len(sizes)} files, write + fsync: "
           f"{raw_s:.2f} s = {stored / raw_s:.0f} audio s per wall s")
    yield f"ratio:  store / raw wall time = {desk_s / raw_s:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segments", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, choices=(8000, 16000), default=8000)
    parser.add_argument("--chunk-ms", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-segments-") as tmp:
        result = run(args.calls, args.seconds, args.rate, args.chunk_ms, Path(tmp) / "store")
        raw_s = raw_writes(result["sizes"], Path(tmp) / "raw")
    for line in report(args, result, raw_s):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
