"""A `recaudit serve` SIGKILLed at each step of a deletion converges, once started again,
on "deleted and recorded": one `RecordingDeleted`, only the manifest left (marked deleted),
the WAV answered 410 — never audio gone without a record, nor a record with audio left.

The steps, held open by RECAUDIT_FAULT_PAUSE_MS: the event is stored but the segment
consumer has not applied it; the manifest is rewritten but the audio is still there; the
audio is gone but the consumer has not acknowledged its batch, nor the client its answer.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from domain.clock import iso_millis
from domain.ids import call_stream_id
from recaudit.bootstrap import event_store
from recaudit.settings import Settings
from tests.faults.test_pause_scheduler import serving, start_serve, stop
from tests.support import wait_until

pytestmark = pytest.mark.slow

PAUSE = {"RECAUDIT_FAULT_PAUSE_MS": "1500"}
FAST = {"RECAUDIT_PROJECTION_LINGER_MS": "0"}
RECORDING = Path("acme") / "c1" / "1"


def recorded_call(base: str) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)

    def at(seconds: float) -> str:
        return iso_millis(start + timedelta(seconds=seconds))

    assert httpx.put(f"{base}/policies/acme", json={"mode": "always_on",
                                                    "changed_by": "ann"}).status_code == 200
    assert httpx.post(f"{base}/calls", json={"call_id": "c1", "org_id": "acme",
                                             "agent_id": "bob", "direction": "inbound",
                                             "at": at(0)}).status_code == 201
    pcm = (1000).to_bytes(2, "little", signed=True) * 16000
    sent = httpx.post(f"{base}/calls/c1/audio", params={"at": at(0), "rate": "8000"},
                      content=pcm, headers={"content-type": "audio/L16"})
    assert sent.status_code == 202, sent.text
    assert httpx.post(f"{base}/calls/c1/end", json={"by": "bob", "at": at(2)}).status_code == 200
    wait_until(lambda: _recordings(base)[0]["state"] == "closed", timeout=30,
               what="the recording to be written")


def _recordings(base: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{base}/calls/c1/recordings")
    documents: list[dict[str, object]] = answer.json() if answer.status_code == 200 else [{}]
    return documents or [{}]


def deletions(data_dir: Path) -> list[object]:
    store = event_store(Settings.from_env({}, data_dir=data_dir))
    try:
        return [e for e in store.events.get(call_stream_id("c1"))
                if type(e).__name__ == "RecordingDeleted"]
    finally:
        store.close()


def manifest_state(data_dir: Path) -> str | None:
    path = data_dir / "recordings" / RECORDING / "manifest.json"
    try:
        state: str = json.loads(path.read_bytes())["state"]
    except (FileNotFoundError, ValueError):
        return None
    return state


def files(data_dir: Path) -> list[str]:
    folder = data_dir / "recordings" / RECORDING
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


STEPS: dict[str, Callable[[Path], bool]] = {
    "event stored, not applied": lambda d: bool(deletions(d)) and manifest_state(d) == "closed",
    "manifest rewritten, audio still there": lambda d: manifest_state(d) == "deleted"
    and "recording.wav" in files(d),
    # The consumer then waits before acknowledging its batch, and the answer is not sent.
    "audio gone, batch not acknowledged": lambda d: files(d) == ["manifest.json"],
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_kill_at_each_step_of_a_deletion_converges(tmp_path: Path, step: str) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    with serving(data_dir, FAST, log) as base:
        recorded_call(base)
    process = start_serve(data_dir, {**FAST, **PAUSE}, log)
    base = process.base  # type: ignore[attr-defined]
    answers: list[int] = []

    def erase() -> None:
        try:
            answers.append(httpx.request("DELETE", f"{base}/calls/c1/recordings/1",
                                         json={"by": "ann", "reason": "request"},
                                         timeout=60).status_code)
        except httpx.HTTPError:
            answers.append(0)  # the server died under the request

    eraser = threading.Thread(target=erase)
    eraser.start()
    try:
        wait_until(lambda: STEPS[step](data_dir), timeout=60, what=step)
    finally:
        stop(process, signal.SIGKILL)
        eraser.join()
    with serving(data_dir, FAST, log) as base:
        wait_until(lambda: files(data_dir) == ["manifest.json"], timeout=30,
                   what="the audio to be gone after the restart")
        [manifest] = _recordings(base)
        assert (manifest["state"], manifest["deleted_reason"]) == ("deleted", "erasure")
        wav = httpx.get(f"{base}/calls/c1/recordings/1.wav")
        assert wav.status_code == 410
        # Asked again after the restart: the same deletion, nothing new recorded.
        again = httpx.request("DELETE", f"{base}/calls/c1/recordings/1",
                              json={"by": "ann", "reason": "request"})
        assert again.status_code == 200 and again.json()["state"] == "deleted"
    assert len(deletions(data_dir)) == 1
