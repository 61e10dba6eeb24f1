"""The console with access tokens configured, in a real browser.

Every page needs a signed-in session; the cookie holds a server-side session id (never
the token), HttpOnly and SameSite=Strict; sessions expire and sign out; roles and
organisations reach exactly as far as the API's; a state-changing request without the
session's CSRF token is refused. Each refusal leaves the event store and the sessions as
they were.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from playwright.sync_api import Page, expect

from domain.rules import Mode
from tests.console.conftest import Console, serve_console
from tests.security.helpers import PRINCIPALS, Tokens

TOKENS = Tokens.issue()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, clickhouse: Client) -> Iterator[Console]:
    yield from serve_console(tmp_path_factory, clickhouse, {"RECAUDIT_TOKENS": TOKENS.config()})


def new_call(console: Console, org: str, agent: str, mode: Mode = Mode.ON_DEMAND) -> str:
    service = console.backend.service
    service.set_policy(org, mode=mode, changed_by="setup")
    call_id = f"acc-{uuid.uuid4().hex[:10]}"
    result = service.start_call(call_id=call_id, org_id=org, agent_id=agent,
                                direction="inbound")
    assert result.refusal is None
    # The list reads the projection: wait until it holds the call.
    answer = console.api.get("/calls", params={"min_position": result.position},
                             headers=TOKENS.header("admin-all"))
    assert answer.status_code in (200, 403), answer.text
    return call_id


def wait_projected(console: Console) -> None:
    position = console.backend.store.head()
    answer = console.api.get("/calls", params={"min_position": position},
                             headers=TOKENS.header("auditor-all"))
    assert answer.status_code == 200, answer.text


def sign_in(page: Page, console: Console, who: str, then: str = "/console/") -> None:
    page.goto(f"{console.url}/console/login?next={then}")
    page.get_by_label("Access token").fill(TOKENS.raw[who])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def unchanged(console: Console) -> tuple[int, int]:
    """What a refusal must leave alone: the event store's head, the number of sessions."""
    assert console.backend.sessions is not None
    return console.backend.store.head(), len(console.backend.sessions)


def fetch(page: Page, method: str, path: str, body: dict[str, Any] | None = None,
          csrf: str | None = None, form: str | None = None) -> dict[str, Any]:
    """A request from the page's origin, with its cookies, as the page's scripts send it."""
    result: dict[str, Any] = page.evaluate(
        """async ([method, path, body, csrf, form]) => {
            const headers = {};
            if (csrf !== null) headers["X-CSRF-Token"] = csrf;
            let payload;
            if (form !== null) {
                headers["Content-Type"] = "application/x-www-form-urlencoded";
                payload = form;
            } else if (body !== null) {
                headers["Content-Type"] = "application/json";
                payload = JSON.stringify(body);
            }
            const answer = await fetch(path, {method, headers, body: payload,
                                              redirect: "manual"});
            let json = null;
            try { json = await answer.json(); } catch (e) {}
            return {status: answer.status, json};
        }""", [method, path, body, csrf, form])
    return result


def csrf_of(page: Page) -> str:
    return str(page.locator("meta[name='csrf-token']").get_attribute("content"))


def test_every_page_asks_to_sign_in_first(secured: Console, page: Page) -> None:
    before = unchanged(secured)
    for path in ("/console/", "/console/calls/acc-x", "/console/agent/acc-x"):
        page.goto(f"{secured.url}{path}")
        assert page.url.startswith(f"{secured.url}/console/login?next=")
        expect(page.get_by_role("form", name="Sign in")).to_be_visible()
    assert unchanged(secured) == before


def test_sign_in_keeps_a_session_id_never_the_token(secured: Console, page: Page) -> None:
    mine = new_call(secured, "acme", "bob")
    amys = new_call(secured, "acme", "amy")
    other = new_call(secured, "globex", "gil")
    wait_projected(secured)
    sign_in(page, secured, "agent-bob")
    assert page.url == f"{secured.url}/console/"
    expect(page.get_by_text("Signed in as bob (agent, org acme)")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["recaudit_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert all(TOKENS.raw["agent-bob"] not in c["value"] for c in cookies.values())
    shown = page.locator("#calls tbody tr[data-call]").evaluate_all(
        "rows => rows.map(r => r.dataset.call)")
    assert mine in shown and amys not in shown and other not in shown
    agents = page.locator("#calls tbody tr[data-call] td:nth-of-type(2)").all_inner_texts()
    assert set(agents) == {"bob"}


def test_a_wrong_token_is_refused_and_opens_no_session(secured: Console, page: Page) -> None:
    before = unchanged(secured)
    page.goto(f"{secured.url}/console/login")
    page.get_by_label("Access token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That token is not valid.")
    assert "recaudit_session" not in {c["name"] for c in page.context.cookies()}
    assert unchanged(secured) == before


def test_sign_out_ends_the_session(secured: Console, page: Page) -> None:
    sign_in(page, secured, "auditor-acme")
    assert page.url == f"{secured.url}/console/"
    session_id = {c["name"]: c["value"] for c in page.context.cookies()}["recaudit_session"]
    signed_in = len(secured.backend.sessions or [])
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert len(secured.backend.sessions or []) == signed_in - 1
    page.goto(f"{secured.url}/console/")
    assert page.url.startswith(f"{secured.url}/console/login")
    # The old session id is worth nothing, to the pages and to the API alike.
    replayed = secured.api.get("/calls", headers={"Cookie": f"recaudit_session={session_id}"})
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "unauthenticated"


def test_an_expired_session_is_refused(tmp_path_factory: pytest.TempPathFactory,
                                       clickhouse: Client, page: Page) -> None:
    env = {"RECAUDIT_TOKENS": TOKENS.config(), "RECAUDIT_CONSOLE_SESSION_S": "2"}
    with contextlib.contextmanager(serve_console)(tmp_path_factory, clickhouse, env) as short:
        call_id = new_call(short, "acme", "bob")
        sign_in(page, short, "agent-bob", f"/console/agent/{call_id}")
        expect(page.get_by_role("button", name="Start Recording")).to_be_visible()
        csrf = csrf_of(page)
        time.sleep(2.2)
        before = unchanged(short)
        answer = fetch(page, "POST", f"/calls/{call_id}/recording/start", {"by": "bob"}, csrf)
        assert answer["status"] == 401
        assert answer["json"]["error"]["code"] == "unauthenticated"
        assert unchanged(short) == before
        assert short.backend.service.call(call_id).status.state.value == "off"
        page.goto(f"{short.url}/console/")
        assert page.url.startswith(f"{short.url}/console/login")


def test_a_role_that_may_not_act_is_refused(secured: Console, page: Page) -> None:
    call_id = new_call(secured, "acme", "bob")
    sign_in(page, secured, "auditor-acme")
    answer = page.goto(f"{secured.url}/console/agent/{call_id}")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("forbidden")
    answer = page.goto(f"{secured.url}/console/calls/{call_id}")  # reading is allowed
    assert answer is not None and answer.status == 200
    before = unchanged(secured)
    refused = fetch(page, "POST", f"/calls/{call_id}/recording/start",
                    {"by": PRINCIPALS["auditor-acme"].name}, csrf_of(page))
    assert refused["status"] == 403 and refused["json"]["error"]["code"] == "forbidden"
    assert unchanged(secured) == before


def test_another_organisations_call_does_not_exist(secured: Console, page: Page) -> None:
    theirs = new_call(secured, "globex", "gil")
    amys = new_call(secured, "acme", "amy")
    sign_in(page, secured, "supervisor-acme")
    answer = page.goto(f"{secured.url}/console/calls/{theirs}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_contain_text("unknown_call")
    for path in ("/console/?org_id=globex", "/console/dashboard?org_id=globex"):
        answer = page.goto(f"{secured.url}{path}")
        assert answer is not None and answer.status == 403
    answer = page.goto(f"{secured.url}/console/calls/{amys}")  # the supervisor's org
    assert answer is not None and answer.status == 200
    sign_in(page, secured, "agent-bob")
    answer = page.goto(f"{secured.url}/console/calls/{amys}")  # a colleague's call
    assert answer is not None and answer.status == 404


def test_a_change_without_the_csrf_token_is_refused(secured: Console, page: Page) -> None:
    call_id = new_call(secured, "acme", "bob")
    sign_in(page, secured, "agent-bob", f"/console/agent/{call_id}")
    expect(page.get_by_role("button", name="Start Recording")).to_be_visible()
    before = unchanged(secured)
    for csrf in (None, "forged"):
        refused = fetch(page, "POST", f"/calls/{call_id}/recording/start", {"by": "bob"}, csrf)
        assert refused["status"] == 403
        assert refused["json"]["error"]["code"] == "csrf_failed"
        signed_out = fetch(page, "POST", "/console/logout", form="csrf_token=forged")
        assert signed_out["status"] == 403
    assert unchanged(secured) == before
    assert secured.backend.service.call(call_id).status.state.value == "off"
    # The page's own button sends the token: the command goes through.
    page.get_by_role("button", name="Start Recording").click()
    expect(page.get_by_role("status")).to_have_text("Recording")
    assert secured.backend.service.call(call_id).status.state.value == "recording"


def test_signing_in_needs_the_forms_own_csrf_token(secured: Console) -> None:
    before = unchanged(secured)
    answer = secured.api.post("/console/login", data={"token": TOKENS.raw["admin-all"]})
    assert answer.status_code == 403
    assert "recaudit_session" not in answer.cookies
    assert unchanged(secured) == before


def test_sign_in_goes_only_to_console_pages(secured: Console, page: Page) -> None:
    sign_in(page, secured, "auditor-all", "https://example.invalid/")
    assert page.url == f"{secured.url}/console/"


def test_the_access_log_and_the_bundle_are_for_auditors(secured: Console, page: Page) -> None:
    call_id = new_call(secured, "acme", "bob")
    sign_in(page, secured, "supervisor-acme")
    answer = page.goto(f"{secured.url}/console/calls/{call_id}")
    assert answer is not None and answer.status == 200
    expect(page.locator("#access-title + p")).to_contain_text("shown to auditors and admins")
    expect(page.locator("#evidence")).to_have_count(0)
    sign_in(page, secured, "auditor-acme")
    page.goto(f"{secured.url}/console/calls/{call_id}")
    reads = page.locator("#access tbody tr")
    expect(reads).to_have_count(2)  # the supervisor's view: its timeline and recordings
    expect(reads.nth(0)).to_contain_text("sue")
    expect(reads.nth(0)).to_contain_text("supervisor")
    # The bundle downloads through the console's session, recorded as the auditor's read.
    evidence = fetch(page, "GET", f"/calls/{call_id}/evidence")
    assert evidence["status"] == 200, evidence
    log = secured.api.get(f"/calls/{call_id}/access", headers=TOKENS.header("auditor-acme"))
    assert [(e["what"], e["by"]) for e in log.json()][-1] == ("evidence", "aud")
