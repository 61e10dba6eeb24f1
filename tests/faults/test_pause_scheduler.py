"""The pause scheduler in a real `recaudit serve`: a capped pause with no further command
resumes on time; a `serve` SIGKILLed while the pause is open and started again after its
deadline records the resume at the deadline, once; two `serve`s on one PostgreSQL store,
both due for the same deadlines, record each resume once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from domain.clock import iso_millis
from recaudit.bootstrap import event_store
from recaudit.http.server import free_port
from recaudit.settings import Settings
from tests.core.helpers import call_events
from tests.security.test_serve import wait_for_health
from tests.support import wait_until

pytestmark = pytest.mark.slow

CAP_MS = 1_000  # the smallest cap allowed


@contextmanager
def serving(data_dir: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """A `recaudit serve` of its own; yields its base URL, SIGTERMs it on leaving."""
    process = start_serve(data_dir, env, log)
    try:
        yield process.base  # type: ignore[attr-defined]
    finally:
        stop(process, signal.SIGTERM)


def start_serve(data_dir: Path, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "recaudit.cli", "serve", "--port", str(port),
             "--data-dir", str(data_dir)],
            env={**clean, "RECAUDIT_PAUSE_POLL_MS": "50", **env}, stdout=out,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    process.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    wait_for_health(process.base, process)  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen[str], sig: int) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=60)


def capped_call(base: str, call_id: str, *, policy: bool = True) -> datetime:
    """A pause_resume call paused now with the smallest cap; returns its deadline."""
    if policy:
        answer = httpx.put(f"{base}/policies/acme", json={
            "mode": "pause_resume", "changed_by": "alice", "max_pause_ms": CAP_MS})
        assert answer.status_code == 200, answer.text
    started = httpx.post(f"{base}/calls", json={"call_id": call_id, "org_id": "acme",
                                                "agent_id": "bob", "direction": "inbound"})
    assert started.status_code == 201, started.text
    paused = httpx.post(f"{base}/calls/{call_id}/recording/pause", json={"by": "bob"})
    assert paused.status_code == 200, paused.text
    deadline = paused.json()["pause_deadline"]
    assert deadline is not None
    return datetime.fromisoformat(deadline)


def automatic_resumes(settings: Settings, call_id: str) -> list[str]:
    store = event_store(settings)
    try:
        return [iso_millis(e.at) for e in call_events(store, call_id)
                if e.type == "RecordingResumed" and e.fields["automatic"]]
    finally:
        store.close()


def deadline_known(data: Path, call_id: str) -> bool:
    with closing(sqlite3.connect(data / "consumers" / "call-states.sqlite")) as db:
        row = db.execute("SELECT pause_deadline FROM call_state WHERE call_id = ?",
                         (call_id,)).fetchone()
    return row is not None and row[0] is not None


def state_of(base: str, call_id: str) -> str:
    return str(httpx.get(f"{base}/calls/{call_id}").json()["state"])


def test_a_capped_pause_resumes_on_time_in_a_live_serve(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, {}, tmp_path / "serve.log") as base:
        deadline = capped_call(base, "c1")
        assert state_of(base, "c1") == "paused"
        wait_until(lambda: state_of(base, "c1") == "recording", timeout=10)
        seen = datetime.now(deadline.tzinfo)
        status = httpx.get(f"{base}/calls/c1").json()
        assert status["pause_deadline"] is None
    # On time: the scheduler polls every 50 ms; allow for a loaded machine.
    assert (seen - deadline).total_seconds() < 5
    assert automatic_resumes(Settings(data_dir=data), "c1") == [iso_millis(deadline)]


def test_a_serve_killed_during_a_pause_resumes_at_the_deadline_once(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    first = start_serve(data, {}, log)
    try:
        deadline = capped_call(first.base, "c1")  # type: ignore[attr-defined]
        # Killed once the read model holds the pause, so that only the restart's own look
        # at it (not a consumer catching up) can find the overdue deadline.
        wait_until(lambda: deadline_known(data, "c1"), timeout=5)
    finally:
        stop(first, signal.SIGKILL)
    time.sleep(max(0.0, (deadline - datetime.now(deadline.tzinfo)).total_seconds()) + 0.5)
    settings = Settings(data_dir=data)
    assert automatic_resumes(settings, "c1") == [], "nothing resumed it while it was down"
    with serving(data, {}, log) as base:
        wait_until(lambda: state_of(base, "c1") == "recording", timeout=20)
    with serving(data, {}, log) as base:  # started once more: nothing is recorded again
        time.sleep(1.0)
        assert state_of(base, "c1") == "recording"
    assert automatic_resumes(settings, "c1") == [iso_millis(deadline)]


@pytest.mark.postgres
def test_two_serves_on_one_postgres_store_resume_each_pause_once(
    tmp_path: Path, postgres_url: str
) -> None:
    env = {"RECAUDIT_POSTGRES_URL": postgres_url}
    calls = [f"c{n}" for n in range(12)]
    with serving(tmp_path / "a", env, tmp_path / "a.log") as a, \
            serving(tmp_path / "b", env, tmp_path / "b.log") as b:
        deadlines = {}
        for n, call_id in enumerate(calls):
            deadlines[call_id] = capped_call(a if n % 2 else b, call_id, policy=n == 0)
        wait_until(lambda: all(state_of(a, c) == "recording" for c in calls), timeout=20)
        time.sleep(0.5)  # both schedulers have had their turn at every deadline
    settings = Settings(data_dir=tmp_path / "a", postgres_url=postgres_url)
    for call_id in calls:
        assert automatic_resumes(settings, call_id) == [iso_millis(deadlines[call_id])]
