"""Kill the segment consumer mid-stream, restart it: the same files and manifests as a clean run.

A worker process (kill_worker.py) runs the consumer over a prepared SQLite event
store. It is SIGKILLed at random points, by itself just before a random disk
operation (between a temporary write and its rename, between a part and the
state that refers to it, in the middle of a finished recording...) or from
outside after a random time, and restarted until it finishes. The recordings
directory must then be byte for byte the one a run without crashes leaves.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.segments.helpers import ORIGIN, FakeClock, Rig, snapshot
from tests.segments.scripts import issue, plan_call, set_policies

ROOT = Path(__file__).resolve().parents[2]
CALLS = 4
SELF_KILLS = 10


def prepare(template: Path, seed: int) -> Path:
    """An event store with a few random calls, and their audio in a file."""
    rng = random.Random(seed)
    template.mkdir()
    rig = Rig(template, FakeClock(ORIGIN + timedelta(hours=1)))
    set_policies(rig.service)
    plans = [plan_call(rng, f"call-{n}", rng.randint(0, 2000)) for n in range(CALLS)]
    issue(rig.service, plans)
    rig.close()
    chunks = [[c.call_id, c.first, c.rate, base64.b64encode(c.pcm).decode()]
              for plan in plans for c in plan.chunks(rng)]
    audio = template.parent / f"audio-{seed}.json"
    audio.write_text(json.dumps(chunks))
    return audio


def run(data_dir: Path, audio: Path, *, die_before: int | None = None,
        kill_after: float | None = None) -> tuple[int, str]:
    command = [sys.executable, "-m", "tests.segments.kill_worker", str(data_dir), str(audio)]
    if die_before is not None:
        command += ["--die-before-op", str(die_before)]
    worker = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        out, err = worker.communicate(timeout=kill_after if kill_after is not None else 120)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGKILL)
        out, err = worker.communicate()
    assert worker.returncode in (0, -signal.SIGKILL), err
    return worker.returncode, out


def copy_of(template: Path, name: str) -> Path:
    target = template.parent / name
    shutil.copytree(template, target)
    return target


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_killed_consumer_resumes_to_the_same_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    template = tmp_path / "template"
    audio = prepare(template, seed)

    clean = copy_of(template, "clean")
    started = time.monotonic()
    code, out = run(clean, audio)
    duration = time.monotonic() - started
    assert code == 0 and out.startswith("done")
    operations = int(out.split()[1])
    expected = snapshot(clean / "recordings")
    assert any(name.endswith("recording.wav") for name in expected)

    crashed = copy_of(template, "crashed")
    kills = 0
    for attempt in range(SELF_KILLS + 2):
        if attempt == 1:
            code, out = run(crashed, audio, kill_after=rng.uniform(0.6, 1.0) * duration)
        elif attempt <= SELF_KILLS:
            code, out = run(crashed, audio, die_before=rng.randint(1, operations // 8))
        else:
            code, out = run(crashed, audio)
        if code == 0:
            break
        kills += 1
    assert code == 0, "the worker never finished"
    assert kills >= 1  # the first run always dies; the later ones usually do too
    assert snapshot(crashed / "recordings") == expected
