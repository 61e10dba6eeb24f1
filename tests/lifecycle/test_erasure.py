"""Erasure on request: an admin deletes one recording's audio, giving a reason."""

from __future__ import annotations

from typing import Any

import pytest

from domain.ids import call_stream_id
from tests.lifecycle.rig import Rig, days_ago


def stored(rig: Rig, call_id: str) -> list[Any]:
    return list(rig.backend.store.events.get(call_stream_id(call_id)))


@pytest.fixture
def erasable(any_rig: Rig) -> Rig:
    any_rig.policy("acme", mode="on_demand_uis")
    any_rig.recorded_call("c1", "acme", start=days_ago(2))
    return any_rig


def test_an_erased_recording_keeps_only_its_manifest(erasable: Rig) -> None:
    rig = erasable
    [before] = rig.recordings("c1")
    # What an interrupted write would have left beside the WAV goes too.
    folder = rig.backend.settings.data_dir / "recordings" / "acme" / "c1" / "1"
    (folder / ".recording.wav.0123abcd.tmp").write_bytes(b"RIFF partial")
    answer = rig.delete("/calls/c1/recordings/1", by="admin", reason="data subject request")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["state"], body["deleted_reason"], body["deleted_by"], body["deleted_note"]) == (
        "deleted", "erasure", "admin", "data subject request")
    assert body["sha256"] == before["sha256"] and body["deleted_at"]
    assert [p.name for p in folder.iterdir()] == ["manifest.json"]
    wav = rig.http.get("/calls/c1/recordings/1.wav")
    assert (wav.status_code, wav.json()["error"]["code"]) == (410, "recording_deleted")
    assert "erasure by admin" in wav.json()["error"]["message"]
    [deletion] = [e for e in stored(rig, "c1") if type(e).__name__ == "RecordingDeleted"]
    assert (deletion.reason, deletion.note, deletion.by, deletion.sha256) == (
        "erasure", "data subject request", "admin", before["sha256"])
    # The same request again answers the same deletion and stores nothing.
    head = rig.backend.store.head()
    again = rig.delete("/calls/c1/recordings/1", by="admin", reason="data subject request")
    assert again.status_code == 200 and again.json()["deleted_at"] == body["deleted_at"]
    assert rig.backend.store.head() == head


def test_a_held_recording_is_refused_and_the_attempt_recorded(erasable: Rig) -> None:
    rig = erasable
    hold = rig.post("/legal-holds", org_id="acme", case="case-1", by="aud").json()
    status = rig.http.get("/calls/c1").json()
    assert status["legal_hold"] is True
    head, files = rig.state()
    answer = rig.delete("/calls/c1/recordings/1", by="admin", reason="request")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "legal_hold" and hold["hold_id"] in error["message"]
    rig.settle()
    assert rig.state()[1] == files  # not a byte removed
    [refusal] = [e for e in stored(rig, "c1") if type(e).__name__ == "CommandRejected"]
    assert (refusal.command, refusal.code, refusal.by) == ("delete", "legal_hold", "admin")
    assert rig.backend.store.head() == head + 1  # the refusal, and nothing else
    timeline = rig.http.get("/calls/c1/timeline", params={"min_position": head + 1}).json()
    assert [(r["command"], r["code"]) for r in timeline["rejected"]] == [
        ("delete", "legal_hold")]


def test_an_open_recording_cannot_be_erased(rig: Rig) -> None:
    rig.policy("acme", mode="on_demand_uis")
    rig.recorded_call("c1", "acme", start=days_ago(0, -60), end=False)
    before = rig.state()
    answer = rig.delete("/calls/c1/recordings/1", by="admin", reason="request")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "recording_open")
    rig.settle()
    assert rig.state() == before


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/calls/c1/recordings/2", {"by": "admin", "reason": "r"}, 404, "unknown_recording"),
    ("/calls/c1/recordings/0", {"by": "admin", "reason": "r"}, 404, "unknown_recording"),
    ("/calls/nope/recordings/1", {"by": "admin", "reason": "r"}, 404, "unknown_call"),
    ("/calls/c1/recordings/1", {"by": "admin"}, 422, "invalid_request"),
    ("/calls/c1/recordings/1", {"by": "admin", "reason": ""}, 422, "invalid_request"),
    ("/calls/c1/recordings/1", {"reason": "r"}, 422, "invalid_request"),
    ("/calls/c1/recordings/x", {"by": "admin", "reason": "r"}, 422, "invalid_request"),
])
def test_refused_erasures_change_nothing(rig: Rig, path: str, body: dict[str, Any],
                                         status: int, code: str) -> None:
    rig.policy("acme", mode="on_demand_uis")
    rig.recorded_call("c1", "acme", start=days_ago(2))
    before = rig.state()
    answer = rig.delete(path, **body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    rig.settle()
    assert rig.state() == before
