"""Recordings whose audio did not all arrive: the manifest says so, and the WAV agrees with it.

Whatever arrived, a closed recording's WAV is as long as its manifest says: every sample of
its recorded time that never arrived is silence, counted in `missing_samples`, and `audio`
says whether all (`complete`), some (`partial`) or none (`none`) of it arrived.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from consumers.segments.audio import WAV_HEADER_BYTES
from tests.segments.helpers import at
from tests.segments.httprig import Api
from tests.segments.signal import epoch_ms


def closed_recording(api: Api, call_id: str) -> tuple[dict[str, Any], bytes]:
    """The call's one recording once decided (the clock is an hour on), and its WAV."""
    api.apply()
    api.desk.sweep()
    [manifest] = api.client.get(f"/calls/{call_id}/recordings").json()
    assert manifest["state"] == "closed"
    wav = api.client.get(f"/calls/{call_id}/recordings/1.wav")
    assert wav.status_code == 200
    assert manifest["sha256"] == hashlib.sha256(wav.content).hexdigest()
    assert manifest["bytes"] == len(wav.content) - WAV_HEADER_BYTES == 2 * manifest["samples"]
    assert struct.unpack("<I", wav.content[24:28]) == (manifest["rate"],)
    assert manifest["samples"] == manifest["duration_ms"] * manifest["rate"] // 1000
    return manifest, wav.content[WAV_HEADER_BYTES:]


def test_a_recording_that_never_got_audio_is_silence_counted_as_missing(api: Api) -> None:
    assert api.command("c1", "end", 34).status_code == 200  # c1 recorded from its start
    manifest, pcm = closed_recording(api, "c1")
    assert manifest["audio"] == "none"
    assert manifest["rate"] == 8000  # no audio ever came: the default rate
    assert (manifest["recorded_ms"], manifest["duration_ms"]) == (34, 34)
    assert manifest["samples"] == manifest["missing_samples"] == 272
    assert [(s["samples"], s["missing_samples"]) for s in manifest["segments"]] == [(272, 272)]
    assert pcm == bytes(2 * 272)


def test_a_recording_with_some_audio_counts_what_is_missing(api: Api) -> None:
    sent = ((0, 160), (30, 80))  # (ms, samples): [0, 20) ms and [30, 40) ms
    for ms, samples in sent:
        assert api.post("c2", ms, samples).status_code == 202
    for path, ms in (("recording/pause", 50), ("recording/resume", 70), ("end", 100)):
        assert api.command("c2", path, ms).status_code == 200
    manifest, pcm = closed_recording(api, "c2")
    assert manifest["audio"] == "partial"
    assert manifest["rate"] == 8000
    assert (manifest["recorded_ms"], manifest["paused_ms"]) == (80, 20)
    assert manifest["samples"] == 640 and manifest["missing_samples"] == 400
    assert [(s["samples"], s["missing_samples"]) for s in manifest["segments"]] == \
        [(400, 160), (240, 240)]
    signal = api.signal

    def audio(ms: int, samples: int) -> bytes:
        return signal.pcm(signal.ms_index(epoch_ms(at(ms))), samples)

    assert pcm == audio(0, 160) + bytes(160) + audio(30, 80) + bytes(2 * (80 + 240))


def test_an_open_recording_does_not_claim_what_is_not_known_yet(api: Api) -> None:
    api.apply()
    [manifest] = api.client.get("/calls/c1/recordings").json()
    assert manifest["state"] == "open"
    assert (manifest["audio"], manifest["rate"], manifest["samples"],
            manifest["missing_samples"]) == (None, None, None, None)
    assert api.post("c1", 0, 160).status_code == 202
    [manifest] = api.client.get("/calls/c1/recordings").json()
    assert (manifest["audio"], manifest["rate"]) == (None, 8000)  # the call's rate, once known
