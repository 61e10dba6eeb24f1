"""The load generator, run in a process of its own: whole calls over keep-alive connections.

Each connection plays calls one after another, every call with unique ids: the start, the
recording commands its script holds (mistaken ones included, which the rules refuse), and
the end, each request sent once the previous answer is in. Against recaudit every answer is
compared with what the rules say (accepted, or the refusal code); against the trivial
server any 2xx counts. Requests answered in the first `--warmup` seconds are not counted.

With `--probe`, one more connection measures the projection's lag: it takes the latest
end of a call answered, and asks that call's timeline with `?min_position=` set to the
answer's position; the lag is the time from the command's answer to the timeline's.

Prints one JSON object with the figures.

    python -m bench.http.load --url http://127.0.0.1:8080 [--connections 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bench.commands.workload import ACCEPTED, ORGS, PlannedCall, expect
from bench.http.client import Answer, Connection
from domain.clock import iso_millis
from domain.rules import Command, Mode
from recaudit.http.routes import command_path
from recaudit.workloads import call_script


@dataclass
class Tally:
    """What the connections saw in the measured window."""

    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0
    mismatches: list[str] = field(default_factory=list)
    calls: int = 0
    lags: list[float] = field(default_factory=list)
    lag_failures: int = 0


@dataclass
class Latest:
    """The latest end of a call answered: (call id, position, time of the answer)."""

    sample: tuple[str, int, float] | None = None


class Generator:
    def __init__(self, url: str, connections: int, seconds: float, warmup: float,
                 seed: int, check: bool) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connections, self.check, self.seed = connections, check, seed
        self.warmup, self.seconds = warmup, seconds
        self.tally, self.latest = Tally(), Latest()
        self.started_at = datetime.now(UTC) - timedelta(days=1)
        self.measure_from = self.stop_at = 0.0

    async def run(self, probe: bool) -> dict[str, Any]:
        now = time.monotonic()
        self.measure_from, self.stop_at = now + self.warmup, now + self.warmup + self.seconds
        tasks = [self._connection(n) for n in range(self.connections)]
        if probe:
            tasks.append(self._probe())
        await asyncio.gather(*tasks)
        return self.figures()

    async def _connection(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        conn = Connection(self.host, self.port)
        try:
            for index in range(1 << 30):
                if time.monotonic() >= self.stop_at:
                    return
                await self._play(conn, self._plan(rng, n, index))
        finally:
            await conn.close()

    def _plan(self, rng: random.Random, n: int, index: int) -> PlannedCall:
        mode = list(Mode)[(n + index) % len(Mode)]
        call_id = f"http-{self.seed}-{n:03d}-{index:07d}"
        start = self.started_at + timedelta(seconds=index)
        return expect(call_script(rng, call_id, ORGS[mode], f"agent-{n}", mode, start))

    async def _play(self, conn: Connection, call: PlannedCall) -> None:
        script = call.script
        body = {"call_id": script.call_id, "org_id": script.org_id,
                "agent_id": script.agent_id, "direction": script.direction,
                "at": iso_millis(script.started_at), "command_id": f"{script.call_id}-s"}
        await self._send(conn, "/calls", body, call.outcomes[0], 201)
        for index, step in enumerate(script.steps):
            body = {"by": script.agent_id, "at": iso_millis(step.at),
                    "command_id": f"{script.call_id}-{index}"}
            answer = await self._send(conn, command_path(step.command, script.call_id), body,
                                      call.outcomes[index + 1], 200)
            if step.command is Command.END and answer.status == 200 and self.check:
                self.latest.sample = (script.call_id, answer.json()["position"],
                                      time.monotonic())
        if self.measure_from <= time.monotonic() < self.stop_at:
            self.tally.calls += 1

    async def _send(self, conn: Connection, path: str, body: dict[str, Any], expected: str,
                    success: int) -> Answer:
        sent = time.monotonic()
        answer = await conn.request("POST", path, body)
        done = time.monotonic()
        if not self.measure_from <= done < self.stop_at:
            return answer
        self.tally.latencies.append(done - sent)
        outcome = self._outcome(answer, success)
        if outcome == ACCEPTED:
            self.tally.accepted += 1
        else:
            self.tally.refused += 1
        if self.check and outcome != expected and len(self.tally.mismatches) < 20:
            self.tally.mismatches.append(f"{path}: {outcome} where {expected} was due")
        return answer

    def _outcome(self, answer: Answer, success: int) -> str:
        if not self.check:
            return ACCEPTED if 200 <= answer.status < 300 else f"http {answer.status}"
        if answer.status == success:
            return ACCEPTED
        if answer.status == 409:
            return str(answer.json()["error"]["code"])
        return f"http {answer.status}: {answer.body[:200]!r}"

    async def _probe(self) -> None:
        conn = Connection(self.host, self.port)
        seen: tuple[str, int, float] | None = None
        try:
            while time.monotonic() < self.stop_at:
                sample = self.latest.sample
                if sample is None or sample is seen:
                    await asyncio.sleep(0.005)
                    continue
                seen = sample
                call_id, position, answered = sample
                answer = await conn.request(
                    "GET", f"/calls/{call_id}/timeline?min_position={position}")
                if answer.status != 200:
                    self.tally.lag_failures += 1
                elif time.monotonic() >= self.measure_from:
                    self.tally.lags.append(time.monotonic() - answered)
        finally:
            await conn.close()

    def figures(self) -> dict[str, Any]:
        t = self.tally
        return {"requests": len(t.latencies), "seconds": self.seconds, "calls": t.calls,
                "rate": len(t.latencies) / self.seconds, "accepted": t.accepted,
                "refused": t.refused, "mismatches": t.mismatches,
                "p50_ms": percentile(t.latencies, 0.50) * 1000,
                "p99_ms": percentile(t.latencies, 0.99) * 1000,
                "lag_samples": len(t.lags), "lag_failures": t.lag_failures,
                "lag_p50_ms": percentile(t.lags, 0.50) * 1000,
                "lag_p99_ms": percentile(t.lags, 0.99) * 1000}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trivial", action="store_true",
                        help="the server is the trivial baseline: any 2xx is right")
    parser.add_argument("--probe", action="store_true", help="measure the projection's lag")
    args = parser.parse_args(argv)
    generator = Generator(args.url, args.connections, args.seconds, args.warmup, args.seed,
                          check=not args.trivial)
    print(json.dumps(asyncio.run(generator.run(args.probe))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
