"""The relay and every standalone consumer SIGKILLed at random moments during a live run.

A fixed seed picks when each process dies; each is restarted at once and killed
again a few seconds later, all through a continuous run of calls, so most kills
land while the process is working through a backlog. Consumers pause before
applying and before acknowledging each batch (RECAUDIT_FAULT_PAUSE_MS), so many
kills fall between those steps.
Afterwards the downstream state and the ClickHouse timelines must equal what a
clean run computes from the event store. (The segment consumer lives in the
API process; its own kill-and-restart proof is tests/segments/test_crash_recovery.py.)
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recaudit.adapters.kafka.relay import tracking_recorder
from recaudit.bootstrap import build
from recaudit.settings import Settings
from tests.kafka.helpers import kafka_env, kill, start_cli, states_progress
from tests.kafka.helpers import states_snapshot as _snapshot
from tests.support import wait_until
from tests.workload import clean_run_states, drive, set_policies

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SEED = 20261125
PROCESSES = {"relay": ["relay"], "call-states": ["consume", "call-states"],
             "projections": ["consume", "projections"]}
# Three phases of traffic: consumers killed, then the relay, then all of them. Alone,
# each shows its own mistakes: a relay restarted at the same time re-sends recent events,
# which can hide a consumer that lost a batch it had acknowledged.
PHASE_SECONDS = 20
PHASES = [{"call-states", "projections"}, {"relay"}, set(PROCESSES)]
# Each process is killed this long after it was (re)started: long enough to have joined
# its consumer group and to be working through the backlog built up while it was down,
# short enough to die many times.
LIFETIME = (1.5, 5.0)


def test_random_kills_converge_to_a_clean_run(kafka_settings: Settings, tmp_path: Path) -> None:
    settings = kafka_settings
    backend = build(settings)
    set_policies(backend.service)
    env = kafka_env(settings)
    env["RECAUDIT_CONSUMER_BATCH"] = "100"
    env["RECAUDIT_RELAY_BATCH"] = "200"
    # Consumers pause before applying a batch and before acknowledging it, so many kills
    # land between those steps, where a mistake in their order would lose or double events.
    env["RECAUDIT_FAULT_PAUSE_MS"] = "150"
    logs = tmp_path / "logs"
    logs.mkdir()
    states = settings.data_dir / "consumers" / "call-states.sqlite"
    tracking = tracking_recorder(backend.store)
    behind = {
        "relay": lambda: (tracking.max_tracking_id(backend.store.name) or 0),
        "call-states": lambda: states_progress(states),
    }
    running = {name: start_cli(args, env, logs / f"{name}.log")
               for name, args in PROCESSES.items()}
    kills = {name: 0 for name in PROCESSES}
    busy_kills = {name: 0 for name in behind}  # killed while it had events still to handle
    traffic_done = threading.Event()
    lock = threading.Lock()

    def killer(name: str, rng: random.Random) -> None:
        while not traffic_done.wait(rng.uniform(*LIFETIME)):
            if name not in PHASES[min(int((time.monotonic() - started) / PHASE_SECONDS), 2)]:
                continue
            with lock:
                if name in behind and behind[name]() < backend.store.head():
                    busy_kills[name] += 1
                kill(running[name])
                kills[name] += 1
                running[name] = start_cli(PROCESSES[name], env, logs / f"{name}.log")

    master = random.Random(SEED)
    killers = [threading.Thread(target=killer, args=(name, random.Random(master.random())))
               for name in PROCESSES]
    calls: list[str] = []
    started, batch = time.monotonic(), 0
    for thread in killers:
        thread.start()
    try:
        while time.monotonic() - started < 3 * PHASE_SECONDS:
            calls += [s.call_id for s in drive(backend.service, 20, seed=batch,
                                               prefix=f"live{batch}")]
            batch += 1
            time.sleep(0.5)  # a steady stream (about 40 calls a second), not a flood
    finally:
        traffic_done.set()
        for thread in killers:
            thread.join()

    head = backend.store.head()
    wait_until(lambda: (tracking.max_tracking_id(backend.store.name) or 0) >= head, 120,
               "the relay to publish everything")
    expected_states = clean_run_states(backend.service, tmp_path / "clean.sqlite")
    deadline = time.monotonic() + 180
    while (found := _snapshot(states)) != expected_states and time.monotonic() < deadline:
        time.sleep(0.5)
    wrong = sorted(c for c in expected_states.keys() | found.keys()
                   if found.get(c) != expected_states.get(c))
    assert not wrong, (f"{len(wrong)} of {len(expected_states)} calls differ from a clean run, "
                       f"e.g. {[(c, found.get(c), expected_states.get(c)) for c in wrong[:3]]}")

    expected = {c: backend.service.timeline(c).to_json() for c in calls}
    deadline = time.monotonic() + 180
    while True:
        kill(running["projections"], signal.SIGTERM)
        timelines = _dump_timelines(env, calls)
        if timelines == expected or time.monotonic() > deadline:
            break
        running["projections"] = start_cli(PROCESSES["projections"], env,
                                           logs / "projections.log")
        time.sleep(3)
    for process in running.values():
        kill(process, signal.SIGTERM)
    backend.close()
    print(f"kills survived: {kills} (while behind: {busy_kills}); calls {len(calls)}; "
          f"events {head}")
    assert all(n >= 6 for n in kills.values()), kills
    assert busy_kills["call-states"] >= 4, busy_kills  # the kills did land mid-work
    assert timelines == expected


def _dump_timelines(env: dict[str, str], calls: list[str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "tests.faults.dump_timelines"],
                          input=json.dumps(calls), env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return dict(json.loads(done.stdout))
