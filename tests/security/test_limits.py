"""Request size and content limits: large bodies, control characters, ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from domain.rules import Mode
from recaudit.bootstrap import Backend
from tests.security.conftest import BackendFactory
from tests.security.helpers import TestClient, error_of

LIMIT = 16 << 10


@pytest.fixture(params=["without tokens", "with tokens"])
def open_or_secured(request: pytest.FixtureRequest,
                    make_backend: BackendFactory) -> tuple[Backend, dict[str, str]]:
    if request.param == "without tokens":
        backend, headers = make_backend(), {}
    else:
        from tests.security.helpers import Tokens

        tokens = Tokens.issue()
        backend = make_backend({"RECAUDIT_TOKENS": tokens.config()})
        headers = tokens.header("admin-all")
    backend.service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="setup")
    return backend, headers


def test_a_body_over_the_limit_is_413(open_or_secured: tuple[Backend, dict[str, str]]) -> None:
    backend, headers = open_or_secured
    http, head = TestClient(backend.app), backend.store.head()
    body = json.dumps({"mode": "always_on", "changed_by": "root", "reason": "r" * LIMIT})
    answer = http.put("/policies/acme", content=body,
                      headers={**headers, "content-type": "application/json"})
    assert error_of(answer) == (413, "body_too_large")
    assert str(LIMIT) in answer.json()["error"]["message"]
    assert backend.store.head() == head


def test_a_streamed_body_without_length_is_cut_at_the_limit(
        open_or_secured: tuple[Backend, dict[str, str]]) -> None:
    backend, headers = open_or_secured
    http, head = TestClient(backend.app), backend.store.head()

    def chunks() -> Iterator[bytes]:
        yield b'{"mode": "always_on", "changed_by": "root", "reason": "'
        for _ in range(40):
            yield b"r" * 1024
        yield b'"}'

    answer = http.put("/policies/acme", content=chunks(),
                      headers={**headers, "content-type": "application/json"})
    assert error_of(answer) == (413, "body_too_large")
    assert backend.store.head() == head


def test_a_body_under_the_limit_reaches_validation(
        open_or_secured: tuple[Backend, dict[str, str]]) -> None:
    backend, headers = open_or_secured
    http, head = TestClient(backend.app), backend.store.head()
    answer = http.put("/policies/acme", headers=headers,
                      json={"mode": "always_on", "changed_by": "root", "reason": "r" * 8000})
    assert error_of(answer) == (422, "invalid_request")
    assert answer.json()["error"]["fields"] == ["reason"]
    assert backend.store.head() == head


def test_the_limit_is_configurable(make_backend: BackendFactory) -> None:
    backend = make_backend({"RECAUDIT_MAX_BODY_BYTES": "2048"})
    answer = TestClient(backend.app).post("/calls", content=b" " * 2049,
                                          headers={"content-type": "application/json"})
    assert error_of(answer) == (413, "body_too_large")


def test_audio_keeps_its_own_larger_limit(make_backend: BackendFactory) -> None:
    backend = make_backend()
    backend.service.set_policy("acme", mode=Mode.ALWAYS_ON, changed_by="setup")
    backend.service.start_call(call_id="c-audio", org_id="acme", agent_id="bob",
                               direction="inbound")
    http = TestClient(backend.app)
    params = {"at": datetime.now(UTC).isoformat(), "rate": "8000"}
    answer = http.post("/calls/c-audio/audio", params=params, content=bytes(4 * LIMIT),
                       headers={"content-type": "audio/L16"})
    assert answer.status_code == 202, answer.text
    over = backend.settings.audio_held_call_bytes + 2
    later = {"at": datetime.now(UTC).isoformat(), "rate": "8000"}
    answer = http.post("/calls/c-audio/audio", params=later, content=bytes(over),
                       headers={"content-type": "audio/L16"})
    assert error_of(answer) == (413, "chunk_too_large")


@pytest.mark.parametrize(("field", "value"), [
    ("changed_by", "ro\not"),
    ("changed_by", "\x1b[2Jroot"),
    ("changed_by", "root\x00"),
    ("changed_by", "root\u0085"),
    ("reason", "bell\x07"),
    ("reason", "carriage\rreturn"),
])
def test_control_characters_in_text_are_refused(make_backend: BackendFactory, field: str,
                                                value: str) -> None:
    backend = make_backend()
    head = backend.store.head()
    body = {"mode": "always_on", "changed_by": "root", field: value}
    answer = TestClient(backend.app).put("/policies/acme", json=body)
    assert error_of(answer) == (422, "invalid_request")
    assert answer.json()["error"]["fields"] == [field]
    assert backend.store.head() == head


def test_a_reason_may_hold_tabs_and_line_breaks(make_backend: BackendFactory) -> None:
    backend = make_backend()
    answer = TestClient(backend.app).put("/policies/acme", json={
        "mode": "always_on", "changed_by": "Zoë O'Brien", "reason": "line one\n\tline two"})
    assert answer.status_code == 200, answer.text


# Characters that change how the text around them is shown, or hide in it.
SPOOFING = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
            "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u2028", "\u2029", "\u2060",
            "\ufeff", "\u206a", "\ufffb"]


@pytest.mark.parametrize("char", SPOOFING, ids=[f"U+{ord(c):04X}" for c in SPOOFING])
def test_bidi_and_invisible_formatting_is_refused_in_every_text_field(
        make_backend: BackendFactory, char: str) -> None:
    backend = make_backend()
    backend.service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="setup")
    backend.service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    http, head = TestClient(backend.app), backend.store.head()
    spoofed = f"admin{char}nimda"
    requests = [
        ("by", "POST", "/calls/c1/recording/start", {"by": spoofed}),
        ("by", "POST", "/calls/c1/end", {"by": spoofed}),
        ("changed_by", "PUT", "/policies/acme", {"mode": "always_on", "changed_by": spoofed}),
        ("reason", "PUT", "/policies/acme", {"mode": "always_on", "changed_by": "root",
                                             "reason": f"line\n{spoofed}"}),
        ("reason", "PUT", "/policies/acme/agents/bob", {"mode": "always_on",
                                                        "changed_by": "root", "reason": spoofed}),
    ]
    for field, method, path, body in requests:
        answer = http.request(method, path, json=body)
        assert error_of(answer) == (422, "invalid_request"), (field, answer.text)
        error = answer.json()["error"]
        assert error["fields"] == [field]
        assert error["message"].startswith(f"{field}: ")
        assert f"found U+{ord(char):04X} " in error["message"], error["message"]
    assert backend.store.head() == head
    assert backend.service.call("c1").status.state.value == "off"


def test_joiners_that_scripts_need_are_kept(make_backend: BackendFactory) -> None:
    backend = make_backend()
    name = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb"
    answer = TestClient(backend.app).put("/policies/acme", json={
        "mode": "always_on", "changed_by": name, "reason": name})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("call_id", ["a b", "a/b", "-lead", "x" * 129, "é", "a\nb", "a;drop"])
def test_ids_outside_the_charset_are_refused(make_backend: BackendFactory, call_id: str) -> None:
    backend = make_backend()
    backend.service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="setup")
    head = backend.store.head()
    answer = TestClient(backend.app).post("/calls", json={
        "call_id": call_id, "org_id": "acme", "agent_id": "bob", "direction": "inbound"})
    assert error_of(answer) == (422, "invalid_request")
    assert answer.json()["error"]["fields"] == ["call_id"]
    assert backend.store.head() == head


@pytest.mark.parametrize(("at", "says"), [
    ("9999-12-31T23:59:59.000-23:59", "out of range"),  # past year 9999 in UTC
    ("0001-01-01T00:00:00.000+01:00", "out of range"),  # before year 1 in UTC
    ("0001-01-01T00:00:00.000Z", "earlier than 1970"),
    ("1969-12-31T23:59:59.999Z", "earlier than 1970"),
])
def test_timestamps_outside_the_storable_range_are_refused(make_backend: BackendFactory,
                                                           at: str, says: str) -> None:
    """These once answered 500 (an overflow converting to UTC) or stored year 1."""
    backend = make_backend()
    backend.service.set_policy("acme", mode=Mode.ALWAYS_ON, changed_by="setup")
    backend.service.start_call(call_id="c1", org_id="acme", agent_id="bob", direction="inbound")
    http, head = TestClient(backend.app), backend.store.head()
    answers = [
        http.post("/calls", json={"call_id": "c2", "org_id": "acme", "agent_id": "bob",
                                  "direction": "inbound", "at": at}),
        http.post("/calls/c1/end", json={"by": "bob", "at": at}),
        http.post("/calls/c1/audio", params={"at": at, "rate": "8000"}, content=bytes(320),
                  headers={"content-type": "audio/L16"}),
    ]
    for answer in answers:
        assert error_of(answer) == (422, "invalid_request"), answer.text
        assert answer.json()["error"]["fields"] == ["at"]
        assert says in answer.json()["error"]["message"]
    assert backend.store.head() == head
    assert backend.segments is not None and backend.segments.held_bytes() == 0


@pytest.mark.parametrize(("body", "says"), [
    (b"[" * 8000 + b"]" * 8000, "nests too deeply"),
    (b'{"mode": "always_on", "changed_by": "r\xffot"}', "is not UTF-8 text"),
])
def test_an_unreadable_body_is_refused_like_any_bad_body(
        open_or_secured: tuple[Backend, dict[str, str]], body: bytes, says: str) -> None:
    """Deep nesting once answered 500 with tokens on (the gate's JSON reading hit the
    recursion limit), then 400 where every other bad body answers 422."""
    backend, headers = open_or_secured
    http, head = TestClient(backend.app), backend.store.head()
    answer = http.put("/policies/acme", content=body,
                      headers={**headers, "content-type": "application/json"})
    assert error_of(answer) == (422, "invalid_request")
    error = answer.json()["error"]
    assert error["fields"] == ["body"]
    assert error["message"].startswith(f"body: {says}") and "JSON object" in error["message"]
    assert backend.store.head() == head
