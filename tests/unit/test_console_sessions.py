"""The console's session store, its cookie reader and where a sign-in may lead."""

from __future__ import annotations

import pytest

from recaudit.access.tokens import Principal, Role
from recaudit.http.console import sessions as store_module
from recaudit.http.console.pages import duration
from recaudit.http.console.sessions import SessionStore, cookie_value
from recaudit.http.console.signin import safe_next

SUE = Principal("sue", Role.SUPERVISOR, "acme")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lasts_its_lifetime_then_is_gone() -> None:
    clock = Clock()
    sessions = SessionStore(60, clock=clock)
    session = sessions.open(SUE)
    assert sessions.get(session.id) == session and session.principal == SUE
    clock.now += 59.9
    assert sessions.get(session.id) is not None
    clock.now += 0.1
    assert sessions.get(session.id) is None
    assert len(sessions) == 0


def test_ids_and_csrf_tokens_are_random_and_distinct() -> None:
    sessions = SessionStore(60)
    opened = [sessions.open(SUE) for _ in range(20)]
    values = {s.id for s in opened} | {s.csrf for s in opened}
    assert len(values) == 40 and all(len(v) >= 40 for v in values)


def test_the_csrf_token_must_match_exactly() -> None:
    session = SessionStore(60).open(SUE)
    assert session.allows(session.csrf)
    assert not session.allows(None) and not session.allows("") and \
        not session.allows(session.csrf[:-1])


def test_closing_a_session_ends_it_and_unknown_ids_find_nothing() -> None:
    sessions = SessionStore(60)
    session = sessions.open(SUE)
    sessions.close(session.id)
    assert sessions.get(session.id) is None
    assert sessions.get("") is None and sessions.get(None) is None
    sessions.close("never-opened")  # closing twice or never is harmless


def test_the_store_keeps_at_most_its_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CAPACITY", 3)
    sessions = SessionStore(60)
    first, *rest = [sessions.open(SUE) for _ in range(4)]
    assert len(sessions) == 3 and sessions.get(first.id) is None
    assert all(sessions.get(s.id) is not None for s in rest)


def test_the_cookie_is_read_from_the_cookie_header_only() -> None:
    headers = [(b"x-cookie", b"recaudit_session=no"),
               (b"cookie", b"a=1; recaudit_session=abc; b=2")]
    assert cookie_value(headers) == "abc"
    assert cookie_value([(b"cookie", b"recaudit_sessionx=1")]) is None
    assert cookie_value([]) is None


@pytest.mark.parametrize(("target", "goes"), [
    ("/console/calls/c1", "/console/calls/c1"),
    ("/console/?org_id=acme", "/console/?org_id=acme"),
    ("https://example.invalid/", "/console/"),
    ("//example.invalid/console/", "/console/"),
    ("/console/\\\\example.invalid", "/console/"),
    ("/calls", "/console/"),
    (None, "/console/"),
])
def test_a_sign_in_leads_only_to_a_console_page(target: str | None, goes: str) -> None:
    assert safe_next(target) == goes


def test_durations_read_as_clock_times() -> None:
    assert duration(None) == "running"
    assert duration(0) == "0:00.000"
    assert duration(61_005) == "1:01.005"
    assert duration(3_723_004) == "1:02:03.004"
