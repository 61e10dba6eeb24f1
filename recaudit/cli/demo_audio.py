"""The demo's audio: a tone whose pitch steps every second, sent through the audio route.

A listener can tell where a pause cut the recording: the pitch sequence jumps. Each
call's audio is sent once it has started, in one-second chunks, before its commands; the
in-process backend of the demo holds audio long enough (`LATENESS_MS`) for the commands
to decide it, so every sample ends up in the segment the rules give it.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta

import httpx

from domain.clock import iso_millis

RATE = 8000
# Pitches in Hz, one per second in turn: whole numbers, so each second holds whole cycles.
PITCHES = (330, 392, 440, 494, 523, 587, 659, 740)
# Held audio waits this long for a command before it is decided (the demo's calls are
# dated hours back), and a call may hold this much undecided audio.
LATENESS_MS = 12 * 3600 * 1000
HELD_CALL_BYTES = 16 << 20
CLOSE_WAIT_S = 60


def second_of_tone(pitch: int, rate: int = RATE) -> bytes:
    """One second of a sine at `pitch`, 16-bit little-endian mono PCM."""
    return b"".join(round(6000 * math.sin(2 * math.pi * pitch * n / rate)).to_bytes(
        2, "little", signed=True) for n in range(rate))


SECONDS = [second_of_tone(p) for p in PITCHES]


def stream(client: httpx.Client, call_id: str, start: datetime, end: datetime) -> int:
    """Send the call's audio from `start` to `end`; the seconds sent."""
    seconds = math.ceil((end - start) / timedelta(seconds=1))
    for k in range(seconds):
        chunk = SECONDS[k % len(SECONDS)]
        left = end - (start + timedelta(seconds=k))
        if left < timedelta(seconds=1):  # the last, partial second
            chunk = chunk[:2 * int(left / timedelta(seconds=1) * RATE)]
        if not chunk:
            break
        answer = client.post(f"/calls/{call_id}/audio", content=chunk,
                             params={"at": iso_millis(start + timedelta(seconds=k)),
                                     "rate": str(RATE)},
                             headers={"content-type": "audio/L16"})
        if answer.status_code != 202:
            raise SystemExit(f"recaudit demo: sending audio of {call_id} answered "
                             f"{answer.status_code}: {answer.text}")
    return seconds


def wait_closed(client: httpx.Client, call_ids: list[str], timeout: float = CLOSE_WAIT_S) -> int:
    """Wait until every recording of these calls is closed (a WAV file); how many are."""
    deadline = time.monotonic() + timeout
    while True:
        manifests = [m for c in call_ids for m in client.get(f"/calls/{c}/recordings").json()]
        if all(m["state"] == "closed" for m in manifests) or time.monotonic() > deadline:
            return sum(1 for m in manifests if m["state"] == "closed")
        time.sleep(0.2)
