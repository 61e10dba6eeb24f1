"""Retention: recordings past their organisation's retention lose their audio, unless held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.ids import call_stream_id
from tests.lifecycle.rig import Rig, days_ago, rig_settings, started
from tests.support import wait_until


def report(rig: Rig, **body: Any) -> dict[str, Any]:
    answer = rig.post("/admin/retention/run", by="admin", **body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def pairs(items: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(item["call_id"], item["recording_no"]) for item in items}


def stored_types(rig: Rig, call_id: str) -> list[str]:
    return [type(e).__name__ for e in rig.backend.store.events.get(call_stream_id(call_id))]


@pytest.fixture
def calls(any_rig: Rig) -> Rig:
    """acme keeps audio 30 days: `old` and `held` ended 400 days ago, `recent` 10 days ago;
    `held` is under a legal hold on its call, `carols` under one on its agent."""
    rig = any_rig
    rig.policy("acme", audio_days=30)
    rig.recorded_call("old", "acme", start=days_ago(400))
    rig.recorded_call("held", "acme", start=days_ago(400))
    rig.recorded_call("carols", "acme", start=days_ago(300), agent_id="carol")
    rig.recorded_call("recent", "acme", start=days_ago(10))
    for scope in ({"call_id": "held"}, {"agent_id": "carol"}):
        placed = rig.post("/legal-holds", org_id="acme", case="case-7", by="aud", **scope)
        assert placed.status_code == 201, placed.text
    rig.settle()
    return rig


def test_a_dry_run_says_what_would_go_and_changes_nothing(calls: Rig) -> None:
    before = calls.state()
    result = report(calls, dry_run=True)
    assert result["dry_run"] is True
    assert pairs(result["deleted"]) == {("old", 1)}
    assert pairs(result["kept_for_hold"]) == {("held", 1), ("carols", 1)}
    assert result["checked"] == 3
    calls.settle()
    assert calls.state() == before


def test_due_recordings_lose_every_byte_held_and_recent_ones_stay(calls: Rig) -> None:
    kept = {name: calls.files(name) for name in ("held", "carols", "recent")}
    [manifest] = calls.recordings("old")
    sha256 = manifest["sha256"]
    assert any(path.endswith("recording.wav") for path in calls.files("old"))
    result = report(calls)
    assert pairs(result["deleted"]) == {("old", 1)}
    assert pairs(result["kept_for_hold"]) == {("held", 1), ("carols", 1)}
    # The run answers once the audio is gone: nothing of it is served any more.
    assert [p.rsplit("/", 1)[-1] for p in calls.files("old")] == ["manifest.json"]
    assert calls.http.get("/calls/old/recordings/1.wav").status_code == 410
    calls.settle()
    # Only the manifest remains, saying who deleted it, when and why.
    assert [p.rsplit("/", 1)[-1] for p in calls.files("old")] == ["manifest.json"]
    [deleted] = calls.recordings("old")
    assert (deleted["state"], deleted["deleted_reason"], deleted["deleted_by"]) == (
        "deleted", "retention", "admin")
    wav = calls.http.get("/calls/old/recordings/1.wav")
    assert (wav.status_code, wav.json()["error"]["code"]) == (410, "recording_deleted")
    assert {name: calls.files(name) for name in kept} == kept
    # The deletion is an event of the call, with the digest of the audio it removed.
    [event] = [e for e in calls.backend.store.events.get(call_stream_id("old"))
               if type(e).__name__ == "RecordingDeleted"]
    assert (event.recording_no, event.reason, event.by, event.sha256) == (
        1, "retention", "admin", sha256)
    # Nothing is left to do: the next run deletes nothing more, and stores nothing.
    head = calls.backend.store.head()
    again = report(calls)
    assert again["deleted"] == [] and calls.backend.store.head() == head


def test_a_released_hold_lets_the_next_run_delete(calls: Rig) -> None:
    holds = calls.http.get("/legal-holds", params={"org_id": "acme", "active": "true"}).json()
    [on_call] = [h for h in holds if h["call_id"] == "held"]
    released = calls.post(f"/legal-holds/{on_call['hold_id']}/release", by="aud",
                          reason="case closed")
    assert released.status_code == 200, released.text
    assert released.json()["released_by"] == "aud" and released.json()["active"] is False
    result = report(calls)
    assert pairs(result["deleted"]) == {("old", 1), ("held", 1)}
    assert pairs(result["kept_for_hold"]) == {("carols", 1)}
    calls.settle()
    assert calls.recordings("held")[0]["state"] == "deleted"


def test_no_retention_keeps_everything(rig: Rig) -> None:
    rig.policy("acme")
    rig.recorded_call("old", "acme", start=days_ago(3000))
    result = report(rig)
    assert (result["checked"], result["deleted"]) == (0, [])
    assert calls_state_after(rig, "old") == "closed"


def calls_state_after(rig: Rig, call_id: str) -> str:
    rig.settle()
    state: str = rig.recordings(call_id)[0]["state"]
    return state


def test_retention_history_is_kept_on_the_policy(rig: Rig) -> None:
    rig.policy("acme", audio_days=365)
    answer = rig.put("/policies/acme/retention", audio_days=None, changed_by="admin",
                     reason="keep for ever")
    assert answer.status_code == 200
    retention = rig.http.get("/policies/acme").json()["retention"]
    assert retention["audio_days"] is None
    assert [(c["audio_days"], c["reason"]) for c in retention["history"]] == [
        (365, None), (None, "keep for ever")]


@pytest.mark.parametrize(("body", "field"), [
    ({"audio_days": 0}, "audio_days"),
    ({"audio_days": 36_501}, "audio_days"),
    ({"audio_days": "30"}, "audio_days"),
    ({"audio_days": 1.5}, "audio_days"),
    ({}, "audio_days"),
    ({"audio_days": 30, "changed_by": ""}, "changed_by"),
    ({"audio_days": 30, "extra": 1}, "extra"),
])
def test_bad_retention_values_are_refused_and_change_nothing(rig: Rig, body: dict[str, Any],
                                                             field: str) -> None:
    rig.policy("acme")
    before = rig.backend.store.head()
    answer = rig.put("/policies/acme/retention", **({"changed_by": "admin"} | body))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and field in error["fields"]
    assert rig.backend.store.head() == before


def test_retention_of_an_organisation_without_policy_is_refused(rig: Rig) -> None:
    before = rig.backend.store.head()
    answer = rig.put("/policies/nobody/retention", audio_days=30, changed_by="admin")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "no_policy")
    assert rig.backend.store.head() == before


def test_the_sweep_inside_serve_deletes_by_itself(tmp_path: Path) -> None:
    with started(rig_settings(tmp_path, RECAUDIT_RETENTION_SWEEP_MS="1000")) as rig:
        rig.policy("acme", audio_days=1)
        rig.recorded_call("old", "acme", start=days_ago(5))
        wait_until(lambda: "RecordingDeleted" in stored_types(rig, "old"), timeout=20,
                   what="the sweep to delete the old recording")
        rig.settle()
        [manifest] = rig.recordings("old")
        assert (manifest["state"], manifest["deleted_by"]) == ("deleted", "system")
