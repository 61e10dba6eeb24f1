"""The calls list in a real browser: each filter set through the form, against the API.

Every filter of the contract is chosen in the form and submitted; the rows the page
shows must be the calls `GET /calls` answers for the same filter, in the same order, and
the view must live in the URL (opening the link again shows the same rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from domain.clock import iso_millis
from tests.console.conftest import Console
from tests.console.data import Maker, make_calls

SELECTS = ("mode", "state", "refused", "legal_hold")


@pytest.fixture(scope="module")
def calls(console: Console) -> Iterator[Maker]:
    maker = make_calls(console.api)
    # Wait until the projection the list reads holds every call.
    answer = console.api.get("/calls", params={"min_position": maker.position})
    assert answer.status_code == 200, answer.text
    yield maker


def api_rows(console: Console, params: dict[str, str], after: str | None = None
             ) -> tuple[list[tuple[str, ...]], str | None]:
    query = {**params, **({"after": after} if after else {})}
    answer = console.api.get("/calls", params=query)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = [(c["call_id"], c["org_id"], c["agent_id"], c["mode"], str(c["refusals"]))
            for c in body["calls"]]
    return rows, body["next"]


def page_rows(page: Page) -> list[tuple[str, ...]]:
    rows = []
    for row in page.locator("#calls tbody tr[data-call]").all():
        cells = [c.inner_text().strip() for c in row.locator("th, td").all()]
        call_id, org, agent, mode, _started, _duration, _bar, refusals, _hold = cells
        rows.append((call_id, org, agent, mode, refusals))
    return rows


def apply_filters(page: Page, filters: dict[str, str]) -> None:
    form = page.get_by_role("form", name="Filter the calls")
    for name, value in filters.items():
        field = form.locator(f"[name='{name}']")
        if name in SELECTS:
            field.select_option(value)
        else:
            field.fill(value)
    form.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()


def filter_cases() -> list[dict[str, str]]:
    return [
        {"org_id": "list-b"},
        {"agent_id": "ben"},
        {"mode": "on_demand"},
        {"mode": "pause_resume", "org_id": "list-a"},
        {"state": "ended"},
        {"state": "off"},
        {"q": "list-1"},
        {"refused": "true"},
        {"refused": "false"},
        {"min_pause_ms": "5000"},
        {"legal_hold": "false"},
        {"legal_hold": "true"},
    ]


@pytest.mark.parametrize("filters", filter_cases(), ids=lambda f: "&".join(
    f"{k}={v}" for k, v in f.items()))
def test_each_filter_shows_the_apis_calls(console: Console, calls: Maker, page: Page,
                                          filters: dict[str, str]) -> None:
    page.goto(f"{console.url}/console/")
    apply_filters(page, filters)
    expected, _next = api_rows(console, filters)
    assert page_rows(page) == expected
    for name, value in filters.items():  # the view lives in the URL
        assert f"{name}={value}" in page.url
    page.goto(page.url)
    assert page_rows(page) == expected


def test_the_period_filters(console: Console, calls: Maker, page: Page) -> None:
    filters = {"from": iso_millis(calls.base + timedelta(minutes=10)),
               "to": iso_millis(calls.base + timedelta(minutes=25))}
    page.goto(f"{console.url}/console/")
    apply_filters(page, filters)
    expected, _next = api_rows(console, filters)
    assert len(expected) == 15
    assert page_rows(page) == expected


def test_pages_of_fifty_go_forward_and_back(console: Console, calls: Maker,
                                            page: Page) -> None:
    first, cursor = api_rows(console, {})
    second, end = api_rows(console, {}, after=cursor)
    assert len(first) == 50 and len(second) == 10 and end is None
    page.goto(f"{console.url}/console/")
    assert page_rows(page) == first
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    page.get_by_role("link", name="Next page").click()
    page.wait_for_load_state()
    assert page_rows(page) == second
    assert "after=" in page.url
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="Previous page").click()
    page.wait_for_load_state()
    assert page_rows(page) == first


def test_pages_keep_the_filters(console: Console, calls: Maker, page: Page) -> None:
    page.goto(f"{console.url}/console/?legal_hold=false&q=list")
    first, cursor = api_rows(console, {"legal_hold": "false", "q": "list"})
    assert page_rows(page) == first and cursor is not None
    page.get_by_role("link", name="Next page").click()
    page.wait_for_load_state()
    second, _end = api_rows(console, {"legal_hold": "false", "q": "list"}, cursor)
    assert page_rows(page) == second
    assert "q=list" in page.url


def test_a_bad_filter_is_a_clear_error(console: Console, calls: Maker, page: Page) -> None:
    answer = page.goto(f"{console.url}/console/?from=yesterday&mode=on_demand")
    assert answer is not None and answer.status == 422
    expect(page.get_by_role("alert")).to_contain_text("from")
    assert page_rows(page) == []
    expect(page.locator("[name='mode']")).to_have_value("on_demand")  # the form is kept


def test_rows_link_to_the_call_and_show_the_shares(console: Console, calls: Maker,
                                                   page: Page) -> None:
    page.goto(f"{console.url}/console/?q=list-03")
    row = page.locator("#calls tbody tr[data-call='list-03']")
    summary = console.api.get("/calls", params={"q": "list-03"}).json()["calls"][0]
    bar = row.get_by_role("img")
    expect(bar).to_have_attribute("aria-label", f"recorded {clock(summary['recording_ms'])}, "
                                  f"paused {clock(summary['paused_ms'])}, "
                                  f"off {clock(summary['off_ms'])}")
    expect(row.get_by_role("link", name="list-03")).to_have_attribute(
        "href", "/console/calls/list-03")


def clock(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}.{millis:03d}"


def test_the_dashboard_counts_what_the_api_lists(console: Console, calls: Maker,
                                                 page: Page) -> None:
    period = {"org_id": "list-a", "from": iso_millis(calls.base),
              "to": iso_millis(calls.base + timedelta(hours=2))}
    listed = console.api.get("/calls", params={**period, "limit": "200"}).json()["calls"]
    assert len(listed) == 30
    pauses = sum(
        [i["state"] for i in console.api.get(f"/calls/{c['call_id']}/timeline").json()[
            "intervals"]].count("paused") for c in listed)
    by_agent: dict[str, int] = {}
    for c in listed:
        if c["refusals"]:
            by_agent[c["agent_id"]] = by_agent.get(c["agent_id"], 0) + c["refusals"]
    recorded = sum(c["recording_ms"] for c in listed)
    total = sum(c["recording_ms"] + c["paused_ms"] + c["off_ms"] for c in listed)
    page.goto(f"{console.url}/console/dashboard")
    form = page.get_by_role("form", name="Choose the organisation and period")
    for name, value in period.items():
        form.locator(f"[name='{name}']").fill(value)
    form.get_by_role("button", name="Show").click()
    page.wait_for_load_state()

    def figure(name: str) -> str:
        return page.locator(f"[data-figure='{name}']").inner_text()

    assert figure("calls") == "30"
    assert figure("recorded") == f"{recorded / total * 100:.1f} %"
    assert figure("pauses") == str(pauses)
    assert figure("refusals") == str(sum(c["refusals"] for c in listed))
    assert figure("auto") == "0"
    assert figure("always_on") == "0"
    assert page.locator("#codes tbody tr").all_inner_texts() == [
        f"not_permitted\t{sum(by_agent.values())}"]
    top = sorted(by_agent.items(), key=lambda kv: (-kv[1], kv[0]))
    assert page.locator("#top-agents tbody tr").all_inner_texts() == [
        f"{agent}\t{n}" for agent, n in top]
    # Each figure opens the list of the calls it counts.
    page.locator("[data-figure='calls']").click()
    page.wait_for_load_state()
    assert len(page_rows(page)) == 30 and "org_id=list-a" in page.url
    page.go_back()
    page.locator("[data-figure='refusals']").click()
    page.wait_for_load_state()
    refused = [r for r in page_rows(page)]
    assert refused and all(r[4] != "0" for r in refused)
    assert len(refused) == sum(1 for c in listed if c["refusals"])
