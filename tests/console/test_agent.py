"""The agent's client in a real browser: each mode driven by clicking, as the guide shows it.

After every click the test checks what the page shows (the indicator in the top-right
corner or the Start Recording button, the items of the Options menu, the End Call button)
and what the backend stored (the call's state and version, and its timeline).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.rules import Mode
from tests.console.conftest import Console

ORG = "agent-org"


def new_call(console: Console, mode: Mode, *, max_pause_ms: int | None = None,
             org: str | None = None) -> str:
    org = org or f"{ORG}-{mode.value.replace('_', '-')}"
    console.backend.service.set_policy(org, mode=mode, changed_by="setup",
                                       max_pause_ms=max_pause_ms)
    call_id = f"agent-{uuid.uuid4().hex[:10]}"
    answer = console.api.post("/calls", json={"call_id": call_id, "org_id": org,
                                              "agent_id": "bob", "direction": "inbound"})
    assert answer.status_code == 201, answer.text
    STARTED[call_id] = answer.json()["version"]
    return call_id


# Each call's version once started: every accepted click adds one event.
STARTED: dict[str, int] = {}


def status(console: Console, call_id: str) -> dict[str, Any]:
    answer = console.api.get(f"/calls/{call_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def intervals(console: Console, call_id: str) -> list[str]:
    position = status(console, call_id)["position"]
    answer = console.api.get(f"/calls/{call_id}/timeline", params={"min_position": position})
    assert answer.status_code == 200, answer.text
    return [i["state"] for i in answer.json()["intervals"]]


def menu_items(page: Page) -> list[str]:
    """The names of the Options menu's items (opening it and closing it again); [] when
    there is no Options button."""
    options = page.get_by_role("button", name="Options")
    if not options.is_visible():
        return []
    options.click()
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    names = [item.inner_text() for item in menu.get_by_role("menuitem").all()]
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    return names


def shows(page: Page, indicator: str | None, items: list[str], *, end: bool = True) -> None:
    """The corner shows `indicator` ("Start Recording" as the button), the menu `items`."""
    corner = page.locator(".corner")
    start = page.get_by_role("button", name="Start Recording")
    if indicator == "Start Recording":
        expect(start).to_be_visible()
        expect(page.get_by_role("status")).to_be_hidden()
    elif indicator is None:
        expect(start).to_be_hidden()
        expect(corner.get_by_role("status")).to_be_hidden()
    else:
        expect(page.get_by_role("status")).to_have_text(indicator)
        expect(start).to_be_hidden()
    if items:
        expect(page.get_by_role("button", name="Options")).to_be_visible()
    assert menu_items(page) == items
    expect(page.get_by_role("button", name="End Call")).to_be_visible(visible=end)


def choose(page: Page, item: str) -> None:
    page.get_by_role("button", name="Options").click()
    page.get_by_role("menuitem", name=item).click()


def stored(console: Console, call_id: str, state: str, events: int,
           timeline: list[str]) -> None:
    """The backend holds the call in `state`, `events` events after its start (each click
    that reached it is one: accepted, or refused and kept as such)."""
    now = status(console, call_id)
    assert (now["state"], now["version"]) == (state, STARTED[call_id] + events)
    assert intervals(console, call_id) == timeline


def test_always_on_offers_only_end_call(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.ALWAYS_ON)
    page.goto(f"{console.url}/console/agent/{call_id}")
    shows(page, "Recording", [])
    stored(console, call_id, "recording", 0, ["recording"])
    page.get_by_role("button", name="End Call").click()
    expect(page.get_by_text("The call has ended.")).to_be_visible()
    shows(page, None, [], end=False)
    stored(console, call_id, "ended", 1, ["recording"])


def test_pause_resume_pauses_and_resumes_from_the_menu(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.PAUSE_RESUME)
    page.goto(f"{console.url}/console/agent/{call_id}")
    shows(page, "Recording", ["Pause Recording"])
    choose(page, "Pause Recording")
    shows(page, "Paused", ["Resume Recording"])
    stored(console, call_id, "paused", 1, ["recording", "paused"])
    choose(page, "Resume Recording")
    shows(page, "Recording", ["Pause Recording"])
    stored(console, call_id, "recording", 2, ["recording", "paused", "recording"])
    page.get_by_role("button", name="End Call").click()
    shows(page, None, [], end=False)
    stored(console, call_id, "ended", 3, ["recording", "paused", "recording"])


def test_on_demand_starts_then_pauses_without_stop(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.ON_DEMAND)
    page.goto(f"{console.url}/console/agent/{call_id}")
    shows(page, "Start Recording", [])
    stored(console, call_id, "off", 0, ["off"])
    page.get_by_role("button", name="Start Recording").click()
    shows(page, "Recording", ["Pause Recording"])
    stored(console, call_id, "recording", 1, ["off", "recording"])
    choose(page, "Pause Recording")
    shows(page, "Paused", ["Resume Recording"])
    stored(console, call_id, "paused", 2, ["off", "recording", "paused"])
    choose(page, "Resume Recording")
    shows(page, "Recording", ["Pause Recording"])
    stored(console, call_id, "recording", 3, ["off", "recording", "paused", "recording"])
    page.get_by_role("button", name="End Call").click()
    shows(page, None, [], end=False)
    stored(console, call_id, "ended", 4, ["off", "recording", "paused", "recording"])


def test_on_demand_uis_walks_every_action(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.ON_DEMAND_UIS)
    page.goto(f"{console.url}/console/agent/{call_id}")
    shows(page, "Start Recording", [])
    page.get_by_role("button", name="Start Recording").click()
    shows(page, "Recording", ["Pause Recording", "Stop Recording"])
    stored(console, call_id, "recording", 1, ["off", "recording"])
    choose(page, "Pause Recording")
    shows(page, "Paused", ["Resume Recording", "Stop Recording"])
    stored(console, call_id, "paused", 2, ["off", "recording", "paused"])
    choose(page, "Stop Recording")
    shows(page, "Start Recording", [])
    stored(console, call_id, "off", 3, ["off", "recording", "paused", "off"])
    page.get_by_role("button", name="Start Recording").click()
    shows(page, "Recording", ["Pause Recording", "Stop Recording"])
    choose(page, "Stop Recording")
    shows(page, "Start Recording", [])
    stored(console, call_id, "off", 5, ["off", "recording", "paused", "off", "recording", "off"])
    page.get_by_role("button", name="End Call").click()
    shows(page, None, [], end=False)
    stored(console, call_id, "ended", 6, ["off", "recording", "paused", "off", "recording", "off"])


def test_the_indicator_is_in_the_top_right_corner(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.ALWAYS_ON)
    page.goto(f"{console.url}/console/agent/{call_id}")
    expect(page.get_by_role("status")).to_have_text("Recording")
    panel = page.locator("#agent").bounding_box()
    box = page.get_by_role("status").bounding_box()
    assert panel is not None and box is not None
    assert box["x"] > panel["x"] + panel["width"] / 2
    assert box["y"] < panel["y"] + 80


def test_the_menu_works_with_the_keyboard(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.ON_DEMAND_UIS)
    console.api.post(f"/calls/{call_id}/recording/start", json={"by": "bob"})
    page.goto(f"{console.url}/console/agent/{call_id}")
    expect(page.get_by_role("status")).to_have_text("Recording")
    page.get_by_role("button", name="Options").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Pause Recording")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Stop Recording")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Pause Recording")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Paused")
    assert status(console, call_id)["state"] == "paused"


def test_a_refusal_is_shown_and_recorded_as_refused(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.PAUSE_RESUME)
    page.goto(f"{console.url}/console/agent/{call_id}")
    shows(page, "Recording", ["Pause Recording"])
    page.get_by_role("button", name="Options").click()  # the menu is open as the call ends
    ended = console.api.post(f"/calls/{call_id}/end", json={"by": "bob"})
    assert ended.status_code == 200
    page.get_by_role("menuitem", name="Pause Recording").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Pause Recording was refused")
    expect(alert).to_contain_text("call_ended")
    shows(page, None, [], end=False)
    # The refused attempt is kept as such (one more event); the timeline is unchanged.
    stored(console, call_id, "ended", 2, ["recording"])
    rejected = console.api.get(f"/calls/{call_id}/timeline").json()["rejected"]
    assert [(r["command"], r["code"], r["by"]) for r in rejected] == [
        ("pause", "call_ended", "bob")]


def test_a_transfer_elsewhere_shows_within_two_seconds(console: Console, page: Page) -> None:
    call_id = new_call(console, Mode.PAUSE_RESUME)
    page.goto(f"{console.url}/console/agent/{call_id}")
    expect(page.locator("#agent-id")).to_have_text("bob")
    moved = console.api.post(f"/calls/{call_id}/transfer",
                             json={"by": "bob", "to_agent_id": "carol"})
    assert moved.status_code == 200, moved.text
    expect(page.locator("#agent-id")).to_have_text("carol", timeout=2000)


def test_a_capped_pause_counts_down_and_resumes_by_itself(console: Console,
                                                           page: Page) -> None:
    call_id = new_call(console, Mode.PAUSE_RESUME, max_pause_ms=1500, org="agent-org-capped")
    page.goto(f"{console.url}/console/agent/{call_id}")
    shows(page, "Recording", ["Pause Recording"])
    choose(page, "Pause Recording")
    expect(page.get_by_role("status")).to_have_text("Paused")
    expect(page.locator("#countdown")).to_contain_text("resumes automatically in 0:0")
    # The automatic resume is the scheduler's, elsewhere: the page shows it within 2 s.
    expect(page.get_by_role("status")).to_have_text("Recording", timeout=1500 + 2000)
    expect(page.locator("#countdown")).to_be_hidden()
    stored(console, call_id, "recording", 2, ["recording", "paused", "recording"])


@pytest.mark.parametrize("call_id", ["no-such-call"])
def test_an_unknown_call_is_a_clear_error_page(console: Console, page: Page,
                                               call_id: str) -> None:
    answer = page.goto(f"{console.url}/console/agent/{call_id}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_contain_text("unknown_call")
