"""The relay and every standalone consumer SIGKILLed at random moments during a live run.

A fixed seed picks which process dies and when; each is restarted at once.
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

from recaudit.bootstrap import build
from recaudit.kafka.relay import tracking_recorder
from recaudit.settings import Settings
from tests.kafka.helpers import kafka_env, kill, start_cli
from tests.kafka.helpers import states_snapshot as _snapshot
from tests.support import wait_until
from tests.workload import clean_run_states, drive, set_policies

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SEED = 20261125
PROCESSES = {"relay": ["relay"], "call-states": ["consume", "call-states"],
             "projections": ["consume", "projections"]}


def test_random_kills_converge_to_a_clean_run(kafka_settings: Settings, tmp_path: Path) -> None:
    settings = kafka_settings
    backend = build(settings)
    set_policies(backend.service)
    env = kafka_env(settings)
    env["RECAUDIT_CONSUMER_BATCH"] = "100"
    env["RECAUDIT_RELAY_BATCH"] = "200"
    logs = tmp_path / "logs"
    logs.mkdir()
    running = {name: start_cli(args, env, logs / f"{name}.log")
               for name, args in PROCESSES.items()}

    calls: list[str] = []
    traffic = threading.Thread(target=lambda: calls.extend(
        s.call_id for batch in range(6)
        for s in drive(backend.service, 150, seed=batch, prefix=f"live{batch}")))
    traffic.start()
    rng = random.Random(SEED)
    kills = {name: 0 for name in PROCESSES}
    rounds = 0
    while traffic.is_alive() or rounds < 3:
        rounds += 1
        for name in rng.sample(sorted(PROCESSES), len(PROCESSES)):
            time.sleep(rng.uniform(0.1, 0.8))
            kill(running[name])
            kills[name] += 1
            running[name] = start_cli(PROCESSES[name], env, logs / f"{name}.log")
    traffic.join()

    head = backend.store.head()
    tracking = tracking_recorder(backend.store)
    wait_until(lambda: (tracking.max_tracking_id(backend.store.name) or 0) >= head, 120,
               "the relay to publish everything")
    expected_states = clean_run_states(backend.service, tmp_path / "clean.sqlite")
    states = settings.data_dir / "consumers" / "call-states.sqlite"
    wait_until(lambda: _snapshot(states) == expected_states, 180, "call-states to converge")

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
    print(f"kills survived: {kills}; calls {len(calls)}; events {head}")
    assert sum(kills.values()) >= 9 and all(kills.values()), kills
    assert timelines == expected


def _dump_timelines(env: dict[str, str], calls: list[str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "tests.faults.dump_timelines"],
                          input=json.dumps(calls), env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return dict(json.loads(done.stdout))
