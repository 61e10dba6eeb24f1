"""The call page in a real browser: the timeline's picture, the tables, the player.

The picture must hold one span per interval of the API's timeline, in order and with the
same states, and one mark per refusal, transfer and automatic resume; the player's
duration must be the manifest's; an actor's name holding markup is shown as text.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from domain.clock import iso_millis
from domain.rules import Mode
from tests.console.conftest import Console
from tests.console.data import ok

RATE = 8000


def started(console: Console, mode: Mode, org: str, at: datetime, agent: str = "bob") -> str:
    console.backend.service.set_policy(org, mode=mode, changed_by="setup")
    call_id = f"page-{uuid.uuid4().hex[:10]}"
    ok(console.api.post("/calls", json={"call_id": call_id, "org_id": org, "agent_id": agent,
                                        "direction": "outbound", "at": iso_millis(at)}))
    return call_id


def send(console: Console, call_id: str, path: str, at: datetime, by: str = "bob",
         status: int = 200, **extra: str) -> dict[str, Any]:
    answer = console.api.post(f"/calls/{call_id}{path}",
                              json={"by": by, "at": iso_millis(at), **extra})
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def timeline(console: Console, call_id: str) -> dict[str, Any]:
    position = ok(console.api.get(f"/calls/{call_id}"))["position"]
    return ok(console.api.get(f"/calls/{call_id}/timeline", params={"min_position": position}))


def tone(seconds: float, pitch: float = 440.0) -> bytes:
    samples = int(seconds * RATE)
    return b"".join(int(8000 * math.sin(2 * math.pi * pitch * n / RATE)).to_bytes(
        2, "little", signed=True) for n in range(samples))


def test_the_picture_has_a_span_per_interval(console: Console, page: Page) -> None:
    t = datetime.now(UTC) - timedelta(minutes=5)
    call_id = started(console, Mode.PAUSE_RESUME, "page-org", t)
    send(console, call_id, "/recording/pause", t + timedelta(seconds=10))
    send(console, call_id, "/recording/stop", t + timedelta(seconds=12), status=409)
    send(console, call_id, "/recording/resume", t + timedelta(seconds=20))
    send(console, call_id, "/transfer", t + timedelta(seconds=25), to_agent_id="carol")
    send(console, call_id, "/recording/pause", t + timedelta(seconds=30), by="carol")
    send(console, call_id, "/end", t + timedelta(seconds=40), by="carol")
    expected = timeline(console, call_id)
    page.goto(f"{console.url}/console/calls/{call_id}")
    spans = page.locator("#timeline g[data-state]")
    assert spans.evaluate_all("gs => gs.map(g => g.dataset.state)") == [
        i["state"] for i in expected["intervals"]] == ["recording", "paused", "recording",
                                                       "paused"]
    expect(page.locator("#timeline [data-mark='refusal']")).to_have_count(1)
    expect(page.locator("#timeline [data-mark='transfer']")).to_have_count(1)
    expect(page.locator("#timeline [data-mark='auto']")).to_have_count(0)
    # Each span says its exact times and who opened it, on hover and on focus.
    first = expected["intervals"][0]
    spans.first.focus()
    expect(page.locator("#timeline-detail")).to_contain_text(
        f"recording: {first['start']} to {first['end']}")
    expect(page.locator("#timeline-detail")).to_contain_text("opened by system")
    page.locator("#timeline [data-mark='refusal']").hover()
    expect(page.locator("#timeline-detail")).to_contain_text("refused stop")
    expect(page.locator("#timeline-detail")).to_contain_text("not_permitted")
    # The tables: intervals, agents, refused attempts with actor and code.
    expect(page.locator("#intervals tbody tr")).to_have_count(4)
    expect(page.locator("#agents tbody tr")).to_have_count(2)
    expect(page.locator("#agents tbody tr").nth(1)).to_contain_text("carol")
    refusal = page.locator("#refusals tbody tr")
    expect(refusal).to_have_count(1)
    expect(refusal).to_contain_text("bob")
    expect(refusal).to_contain_text("not_permitted")


def test_an_automatic_resume_is_marked(console: Console, page: Page) -> None:
    t = datetime.now(UTC) - timedelta(minutes=5)
    console.backend.service.set_policy("page-capped", mode=Mode.PAUSE_RESUME,
                                       changed_by="setup", max_pause_ms=2000)
    call_id = f"page-{uuid.uuid4().hex[:10]}"
    ok(console.api.post("/calls", json={"call_id": call_id, "org_id": "page-capped",
                                        "agent_id": "bob", "direction": "inbound",
                                        "at": iso_millis(t)}))
    send(console, call_id, "/recording/pause", t + timedelta(seconds=5))
    deadline = time.monotonic() + 10
    while len(timeline(console, call_id)["intervals"]) < 3:
        assert time.monotonic() < deadline, "the capped pause did not resume by itself"
        time.sleep(0.1)
    page.goto(f"{console.url}/console/calls/{call_id}")
    expect(page.locator("#timeline g[data-state]")).to_have_count(3)
    auto = page.locator("#timeline [data-mark='auto']")
    expect(auto).to_have_count(1)
    expect(auto).to_have_attribute("aria-label", f"resumed automatically at "
                                   f"{iso_millis(t + timedelta(seconds=7))} (the pause "
                                   f"reached its cap)")


def test_markup_in_an_actor_is_shown_as_text(console: Console, page: Page) -> None:
    actor = "<script>alert('x')</script><b>eve</b>"
    t = datetime.now(UTC) - timedelta(minutes=5)
    call_id = started(console, Mode.ALWAYS_ON, "page-org-2", t)
    send(console, call_id, "/recording/pause", t + timedelta(seconds=3), by=actor, status=409)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{console.url}/console/calls/{call_id}")
    expect(page.locator("#refusals tbody tr td").nth(2)).to_have_text(actor)
    assert page.locator("b").count() == 0
    assert page.locator("script").evaluate_all("s => s.map(e => e.getAttribute('src'))") == [
        "/console/static/timeline.js"]
    page.locator("#timeline [data-mark='refusal']").focus()
    expect(page.locator("#timeline-detail")).to_contain_text(actor)
    assert dialogs == []


def test_the_player_lasts_as_long_as_the_manifest_says(console: Console, page: Page) -> None:
    t = datetime.now(UTC) - timedelta(seconds=3)
    call_id = started(console, Mode.PAUSE_RESUME, "page-audio", t)
    for second, pitch in enumerate((440, 550, 660)):
        answer = console.api.post(f"/calls/{call_id}/audio", content=tone(1.0, pitch),
                                  params={"at": iso_millis(t + timedelta(seconds=second)),
                                          "rate": str(RATE)},
                                  headers={"content-type": "audio/L16"})
        assert answer.status_code == 202, answer.text
    send(console, call_id, "/recording/pause", t + timedelta(seconds=1))
    send(console, call_id, "/recording/resume", t + timedelta(seconds=2))
    send(console, call_id, "/end", t + timedelta(seconds=3))
    manifest = closed_manifest(console, call_id)
    assert manifest["duration_ms"] == 2000  # the paused second is skipped
    page.goto(f"{console.url}/console/calls/{call_id}")
    player = page.locator("#recording-1 audio")
    expect(player).to_have_attribute("preload", "metadata")
    duration = player.evaluate("""a => new Promise(done => a.readyState >= 1
        ? done(a.duration) : a.addEventListener('loadedmetadata', () => done(a.duration)))""")
    assert abs(duration - manifest["duration_ms"] / 1000) < 0.001
    assert player.evaluate("a => [a.paused, a.currentTime]") == [True, 0]  # nothing plays
    expect(page.locator("#recording-1 .segments tbody tr")).to_have_count(
        len(manifest["segments"]) + len(manifest["pauses"]))


def closed_manifest(console: Console, call_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        manifests = ok_list(console, call_id)
        if manifests and manifests[0]["state"] == "closed":
            return manifests[0]
        assert time.monotonic() < deadline, f"the recording did not close: {manifests}"
        time.sleep(0.1)


def ok_list(console: Console, call_id: str) -> list[dict[str, Any]]:
    answer = console.api.get(f"/calls/{call_id}/recordings")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_deletions_holds_the_access_log_and_the_bundle_are_shown(console: Console,
                                                                 page: Page) -> None:
    t = datetime.now(UTC) - timedelta(seconds=3)
    call_id = started(console, Mode.ALWAYS_ON, "page-lifecycle", t)
    answer = console.api.post(f"/calls/{call_id}/audio", content=tone(2.0),
                              params={"at": iso_millis(t), "rate": str(RATE)},
                              headers={"content-type": "audio/L16"})
    assert answer.status_code == 202, answer.text
    send(console, call_id, "/end", t + timedelta(seconds=2))
    erased = console.api.request("DELETE", f"/calls/{call_id}/recordings/1",
                                 json={"by": "ann", "reason": "asked by the caller"})
    assert erased.status_code == 200, erased.text
    hold = ok(console.api.post("/legal-holds", json={
        "org_id": "page-lifecycle", "call_id": call_id, "case": "CASE-<7>", "by": "aud"}))
    page.goto(f"{console.url}/console/calls/{call_id}")
    recording = page.locator("#recording-1")
    expect(recording).to_contain_text("Audio deleted (erasure) by ann")
    expect(recording).to_contain_text("asked by the caller")
    expect(recording.locator("audio")).to_have_count(0)
    expect(page.locator("#legal-hold")).to_contain_text("Under legal hold")
    rows = page.locator("#holds tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(hold["hold_id"])
    expect(rows).to_contain_text("CASE-<7>")  # markup in a case name is text
    expect(page.locator("#evidence")).to_have_attribute("href", f"/calls/{call_id}/evidence")
    # The first view read the timeline and the recordings: the next one lists both reads.
    page.reload()
    reads = page.locator("#access tbody tr")
    expect(reads).to_have_count(2)
    expect(reads.nth(0)).to_contain_text("timeline")
    expect(reads.nth(1)).to_contain_text("recordings")
    expect(reads.nth(0)).to_contain_text("loopback")
    log = console.api.get(f"/calls/{call_id}/access").json()
    assert [e["what"] for e in log] == ["timeline", "recordings"] * 2
