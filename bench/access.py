"""What recording every read costs: timeline and WAV reads with and without the access log.

    python -m bench.access [--calls 50] [--seconds 10] [--clients 8] [--out FILE]

Two `recaudit serve` processes on fresh data directories, started the same way but for
`RECAUDIT_ACCESS_LOG` (`on`, the default, and `off`, the baseline), each seeded with the
same calls (each with one finished recording of two seconds of audio). This process then
reads from both, one after the other: `--clients` threads, each with its own HTTP
connection, for `--seconds` each, first timelines then WAV files of random calls. It prints
reads per second and p50 / p99 latency of each, and the ratio with / without the log.

Target (printed as MET / NOT MET, never asserted): reads with the log at least 0.7x the
reads without it, for both kinds (each read with the log waits for one group commit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.verdict import verdict
from domain.clock import iso_millis
from recaudit.http.server import free_port

TARGET = 0.7
KINDS = ("timeline", "audio")


@dataclass(frozen=True)
class Figures:
    reads: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.reads / self.seconds


@contextmanager
def serve(data_dir: Path, access_log: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    env |= {"RECAUDIT_ACCESS_LOG": access_log, "RECAUDIT_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "serve", "--port", str(port),
         "--data-dir", str(data_dir)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"recaudit serve did not start on {base}")
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def seed(base: str, calls: int) -> list[str]:
    """`calls` ended calls, each with one closed recording of two seconds of audio."""
    http = httpx.Client(base_url=base, timeout=30)
    assert http.put("/policies/acme", json={"mode": "always_on",
                                            "changed_by": "bench"}).status_code == 200
    start = datetime.now(UTC) - timedelta(minutes=10)
    pcm = (1000).to_bytes(2, "little", signed=True) * 16000
    ids = []
    for n in range(calls):
        call_id, at = f"read-{n}", start + timedelta(seconds=3 * n)
        http.post("/calls", json={"call_id": call_id, "org_id": "acme", "agent_id": "bob",
                                  "direction": "inbound", "at": iso_millis(at)})
        http.post(f"/calls/{call_id}/audio", params={"at": iso_millis(at), "rate": "8000"},
                  content=pcm, headers={"content-type": "audio/L16"})
        ended = http.post(f"/calls/{call_id}/end", json={
            "by": "bob", "at": iso_millis(at + timedelta(seconds=2))})
        ids.append(call_id)
    position = ended.json()["position"]
    http.get(f"/calls/{ids[-1]}/timeline", params={"min_position": position})
    deadline = time.monotonic() + 60
    while any(http.get(f"/calls/{c}/recordings").json()[0]["state"] != "closed"
              for c in (ids[0], ids[-1])):
        if time.monotonic() > deadline:
            raise SystemExit("the recordings were not written within 60 s")
        time.sleep(0.2)
    return ids


def load(base: str, kind: str, ids: list[str], clients: int, seconds: float) -> Figures:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng, mine = random.Random(seed), []
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.monotonic() < stop_at:
                call_id = rng.choice(ids)
                path = (f"/calls/{call_id}/timeline" if kind == "timeline"
                        else f"/calls/{call_id}/recordings/1.wav")
                began = time.perf_counter()
                answer = http.get(path)
                mine.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: {answer.status_code} {answer.text[:200]}")
        with lock:
            latencies.extend(mine)

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return Figures(len(latencies), elapsed, 1000 * latencies[len(latencies) // 2],
                   1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.access", description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Figures]] = {}
    with tempfile.TemporaryDirectory(prefix="recaudit-bench-access-") as scratch:
        for setting in ("on", "off"):
            with serve(Path(scratch) / setting, setting) as base:
                ids = seed(base, args.calls)
                results[setting] = {kind: load(base, kind, ids, args.clients, args.seconds)
                                    for kind in KINDS}
    print(f"access log: {args.calls} calls, {args.clients} clients, {args.seconds:g} s per "
          "kind, recaudit serve in its own process")
    print(f"{'read':<10}{'log':<5}{'reads':>8}{'reads/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    report: dict[str, object] = {}
    for kind in KINDS:
        for setting in ("on", "off"):
            f = results[setting][kind]
            print(f"{kind:<10}{setting:<5}{f.reads:>8}{f.rate:>10.0f}{f.p50_ms:>9.1f}"
                  f"{f.p99_ms:>9.1f}")
        ratio = results["on"][kind].rate / results["off"][kind].rate
        print(f"  {kind} with the log / without: {ratio:.2f}x (target >= {TARGET}x: "
              f"{verdict(ratio >= TARGET)})")
        report[kind] = {"ratio": ratio, **{
            s: results[s][kind].__dict__ | {"rate": results[s][kind].rate}
            for s in ("on", "off")}}
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
