"""The audio routes over HTTP: every refusal is clear and leaves every store as it was."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import pytest

from consumers.segments.audio import WAV_HEADER_BYTES
from recaudit.adapters.localfeed import LocalFeed
from tests.segments.helpers import at
from tests.segments.httprig import PER_CALL, Api, error
from tests.segments.signal import epoch_ms
from tests.support import wait_until

REFUSED_AS_SENT = [
    ("text/plain content", {"content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("stereo", {"content_type": "audio/L16; channels=2"}, 415, "unsupported_media_type"),
    ("odd byte count", {"body": b"\x01\x02\x03"}, 422, "invalid_request"),
    ("empty body", {"body": b""}, 422, "invalid_request"),
    ("rate missing", {"params": {"rate": ""}}, 422, "invalid_request"),
    ("rate unsupported", {"params": {"rate": "44100"}}, 422, "invalid_request"),
    ("rate not a number", {"params": {"rate": "fast"}}, 422, "invalid_request"),
    ("rates disagree", {"content_type": "audio/L16; rate=16000"}, 422, "invalid_request"),
    ("at missing", {"params": {"at": ""}}, 422, "invalid_request"),
    ("at naive", {"params": {"at": "2026-03-01T09:00:00"}}, 422, "invalid_request"),
    ("at garbage", {"params": {"at": "yesterday"}}, 422, "invalid_request"),
    ("chunk larger than a call may hold", {"body": bytes(PER_CALL + 2)}, 413, "chunk_too_large"),
]


@pytest.mark.parametrize(("case", "overrides", "status", "code"), REFUSED_AS_SENT,
                         ids=[c[0] for c in REFUSED_AS_SENT])
def test_malformed_chunks_are_refused_and_change_nothing(
    api: Api, case: str, overrides: dict[str, Any], status: int, code: str
) -> None:
    before = api.state()
    response = api.post("c1", 0, 160, **overrides)
    assert error(response) == (status, code), response.text
    assert response.json()["error"]["message"]
    assert api.state() == before


def test_a_missing_content_type_is_refused(api: Api) -> None:
    before = api.state()
    response = api.client.post("/calls/c1/audio", params={"at": at(0).isoformat(),
                                                          "rate": "8000"}, content=b"\x00\x00")
    assert error(response) == (415, "unsupported_media_type")
    assert api.state() == before


def test_an_unknown_call_is_refused(api: Api) -> None:
    before = api.state()
    assert error(api.post("nobody", 0, 160)) == (404, "unknown_call")
    assert api.state() == before


def test_audio_from_the_future_is_refused(api: Api) -> None:
    before = api.state()
    response = api.post("c1", 3_600_000 + 6_000, 160, body=bytes(320))
    assert error(response) == (409, "future_timestamp")
    assert api.state() == before


def test_audio_before_its_call_started_is_refused_and_never_held(api: Api) -> None:
    """Before the consumer has seen the call, and after: refused, naming the call's start."""
    for when in ("before the consumer saw the call", "after"):
        before = api.state()
        for start_ms in (-60_000, -22 * 3_600_000, -10):  # -10: runs into the call's start
            response = api.post("c1", start_ms, 160, body=bytes(320))
            assert error(response) == (409, "audio_before_call"), (when, response.text)
            assert "2026-03-01T09:00:00.000Z" in response.json()["error"]["message"]
        assert api.state() == before
        api.apply()
        api.desk.sweep()  # an hour on: decided up to the call's start
    assert api.post("c1", 0, 160).status_code == 202  # from its start on, audio is taken


def test_the_backlog_is_bounded_per_call_and_overall(api: Api) -> None:
    assert api.post("c1", 0, 1600).status_code == 202  # the whole per-call allowance
    before = api.state()
    full = api.post("c1", 200, 8)
    assert error(full) == (429, "audio_backlog_full")
    assert full.headers["retry-after"] == "1"
    assert api.state() == before
    assert api.post("c2", 0, 800).status_code == 202
    before = api.state()
    assert error(api.post("c2", 100, 8)) == (429, "audio_backlog_full")  # 4800 overall
    assert api.state() == before
    api.apply()
    api.desk.sweep()  # the clock is an hour on: the held audio is past the lateness bound
    assert api.desk.held_bytes() == 0
    assert error(api.post("c2", 100, 8)) == (409, "audio_overlap")  # decided meanwhile
    assert api.post("c2", 3_595_000, 8, body=bytes(16)).status_code == 202


def test_overlaps_are_refused_and_an_exact_repeat_is_accepted_once(api: Api) -> None:
    assert api.post("c1", 0, 800).status_code == 202
    before = api.state()
    repeat = api.post("c1", 0, 800)
    assert repeat.status_code == 202 and repeat.json()["duplicate"] is True
    assert api.state() == before
    altered = api.post("c1", 0, 800, body=bytes(1600))
    assert error(altered) == (409, "audio_overlap")
    assert error(api.post("c1", 50, 80)) == (409, "audio_overlap")
    assert error(api.post("c1", 100, 80, params={"rate": "16000"})) == (409, "rate_mismatch")
    assert api.state() == before
    assert api.command("c1", "recording/pause", 60).status_code == 200
    api.apply()  # decided up to the pause: [0, 60) written, [60, 100) dropped
    before = api.state()
    assert error(api.post("c1", 40, 8)) == (409, "audio_overlap")
    assert api.post("c1", 0, 800).json()["duplicate"] is True  # still recognised
    assert api.state() == before


def test_an_ended_call_refuses_audio_once_all_of_it_is_decided(api: Api) -> None:
    assert api.post("c1", 0, 1600).status_code == 202
    assert api.command("c1", "end", 150).status_code == 200
    api.apply()
    before = api.state()
    assert error(api.post("c1", 300, 80)) == (409, "call_ended")
    assert api.state() == before


def test_a_command_later_than_the_bound_is_too_late(api: Api) -> None:
    assert api.post("c1", 0, 1600).status_code == 202
    api.apply()
    api.desk.sweep()  # the clock is an hour on: everything held is past the bound
    late = api.command("c1", "recording/pause", 100)
    assert error(late) == (409, "too_late")
    assert "lateness" in late.json()["error"]["message"]
    assert api.client.get("/calls/c1").json()["state"] == "recording"
    assert [r.fields["code"] for r in _rejections(api)] == ["too_late"]


def _rejections(api: Api) -> list[Any]:
    events, _ = LocalFeed(api.backend.store).read(0, 1000)
    return [e for e in events if e.type == "CommandRejected"]


def test_unknown_recordings_and_calls_are_404(api: Api) -> None:
    assert error(api.client.get("/calls/nobody/recordings")) == (404, "unknown_call")
    assert error(api.client.get("/calls/nobody/recordings/1.wav")) == (404, "unknown_call")
    assert api.client.get("/calls/u1/recordings").json() == []
    assert error(api.client.get("/calls/u1/recordings/1.wav")) == (404, "unknown_recording")
    api.apply()
    assert error(api.client.get("/calls/c1/recordings/7.wav")) == (404, "unknown_recording")


def test_a_recording_over_http_with_the_pipeline_running(roomy_api: Api) -> None:
    api = roomy_api
    api.clock.set(at(1000))  # media time is now: nothing is past the lateness bound yet
    api.backend.pipeline.start(only=["segments"])
    for start in range(0, 1000, 20):
        assert api.post("u1", start, 160).status_code == 202
    for path, ms in (("recording/start", 100), ("recording/pause", 300),
                     ("recording/resume", 500), ("recording/stop", 900)):
        assert api.command("u1", path, ms).status_code == 200

    def closed() -> bool:
        recordings = api.client.get("/calls/u1/recordings").json()
        return bool(recordings) and recordings[0]["state"] == "closed"

    wait_until(closed, timeout=20, what="recording 1 of u1 to be finished")
    [manifest] = api.client.get("/calls/u1/recordings").json()
    wav = api.client.get("/calls/u1/recordings/1.wav")
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    assert manifest["sha256"] == hashlib.sha256(wav.content).hexdigest()
    assert [(s["start"], s["end"], s["duration_ms"]) for s in manifest["segments"]] == [
        ("2026-03-01T09:00:00.100Z", "2026-03-01T09:00:00.300Z", 200),
        ("2026-03-01T09:00:00.500Z", "2026-03-01T09:00:00.900Z", 400),
    ]
    assert manifest["pauses"] == [{"start": "2026-03-01T09:00:00.300Z",
                                   "end": "2026-03-01T09:00:00.500Z", "duration_ms": 200}]
    assert struct.unpack("<I", wav.content[24:28]) == (8000,)
    expected = b"".join(api.signal.pcm(api.signal.ms_index(epoch_ms(at(a))), (b - a) * 8)
                        for a, b in ((100, 300), (500, 900)))
    assert wav.content[WAV_HEADER_BYTES:] == expected
