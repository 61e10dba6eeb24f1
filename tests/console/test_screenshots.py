"""Every console page once, as a person sees it, kept as a screenshot artifact.

Runs last in this package (by name): one server with calls of every mode, a recording,
a refusal and a transfer, and a picture of the calls list, a call page, the agent's
client, the dashboard and the sign-in page (`tests/artifacts/console/pages/`). The
README's pictures (docs/console/) are these, copied.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from domain.clock import iso_millis
from domain.rules import Mode
from tests.console.browser import artifacts_dir
from tests.console.conftest import Console
from tests.console.data import make_calls, ok
from tests.console.test_call_page import closed_manifest, send, tone

VIEW = {"width": 1100, "height": 720}


def shoot(page: Page, name: str) -> None:
    folder = artifacts_dir() / "pages"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def test_a_picture_of_every_page(console: Console, page: Page) -> None:
    maker = make_calls(console.api, count=24, prefix="shot")
    t = datetime.now(UTC) - timedelta(seconds=40)
    console.backend.service.set_policy("acme", mode=Mode.ON_DEMAND_UIS, changed_by="setup")
    ok(console.api.post("/calls", json={"call_id": "call-2041", "org_id": "acme",
                                        "agent_id": "bob", "direction": "inbound",
                                        "at": iso_millis(t)}))
    for second in range(30):
        sent = console.api.post("/calls/call-2041/audio",
                                content=tone(1.0, 330 + 40 * (second % 8)),
                                params={"at": iso_millis(t + timedelta(seconds=second)),
                                        "rate": "8000"},
                                headers={"content-type": "audio/L16"})
        assert sent.status_code == 202, sent.text
    send(console, "call-2041", "/recording/start", t + timedelta(seconds=3))
    send(console, "call-2041", "/recording/pause", t + timedelta(seconds=9))
    send(console, "call-2041", "/recording/start", t + timedelta(seconds=11), status=409)
    send(console, "call-2041", "/recording/resume", t + timedelta(seconds=16))
    send(console, "call-2041", "/transfer", t + timedelta(seconds=20), to_agent_id="carol")
    send(console, "call-2041", "/recording/stop", t + timedelta(seconds=24), by="carol")
    send(console, "call-2041", "/end", t + timedelta(seconds=30), by="carol")
    closed_manifest(console, "call-2041")
    ok(console.api.post("/calls", json={"call_id": "call-2042", "org_id": "acme",
                                        "agent_id": "bob", "direction": "outbound"}))
    ok(console.api.get("/calls", params={"min_position": maker.position}))
    page.set_viewport_size(VIEW)

    page.goto(f"{console.url}/console/")
    shoot(page, "calls")
    page.goto(f"{console.url}/console/calls/call-2041")
    page.locator("#timeline g[data-state]").nth(1).focus()
    shoot(page, "call")
    page.goto(f"{console.url}/console/agent/call-2042")
    page.get_by_role("button", name="Start Recording").click()
    page.get_by_role("button", name="Options").click()
    expect(page.get_by_role("menuitem", name="Stop Recording")).to_be_visible()
    shoot(page, "agent")
    page.goto(f"{console.url}/console/dashboard?org_id=list-a")
    shoot(page, "dashboard")
    page.goto(f"{console.url}/console/login")
    shoot(page, "login")
    pictures = sorted(p.name for p in (artifacts_dir() / "pages").glob("*.png"))
    assert {"agent.png", "call.png", "calls.png", "dashboard.png", "login.png"} <= set(pictures)
