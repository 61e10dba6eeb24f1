"""Malformed requests: 422 invalid_request naming the field, and nothing stored.

Each table row is a request that would succeed but for one defect; the call `c1` and the
organisation's policy exist, so only validation can refuse it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.api.client import COMMAND_PATHS, Api
from tests.core.helpers import assert_nothing_stored, org_for, set_mode_policies

LONG_ID = "x" * 129
NEW_CALL = {"call_id": "c-new", "org_id": org_for("on_demand_uis"), "agent_id": "a1",
            "direction": "inbound", "at": "2026-03-01T09:30:00.000Z", "command_id": "k-new"}
COMMAND = {"by": "agent-1", "at": "2026-03-01T11:31:00.000+02:00", "command_id": "k-cmd"}
POLICY = {"mode": "on_demand", "changed_by": "admin", "reason": "audit", "pause_behavior": "skip"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    field: str
    body: Any = None
    raw: bytes | None = None


def without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def changed(body: dict[str, Any], **values: Any) -> dict[str, Any]:
    return body | values


def start_call_cases() -> list[Case]:
    def post(name: str, field: str, body: Any = None, raw: bytes | None = None) -> Case:
        return Case(f"POST /calls {name}", "POST", "/calls", field, body, raw)

    cases = [post(f"missing {f}", f, without(NEW_CALL, f))
             for f in ("call_id", "org_id", "agent_id", "direction")]
    cases += [
        post("call_id number", "call_id", changed(NEW_CALL, call_id=5)),
        post("org_id list", "org_id", changed(NEW_CALL, org_id=["o"])),
        post("agent_id null", "agent_id", changed(NEW_CALL, agent_id=None)),
        post("direction number", "direction", changed(NEW_CALL, direction=1)),
        post("direction sideways", "direction", changed(NEW_CALL, direction="sideways")),
        post("direction upper case", "direction", changed(NEW_CALL, direction="INBOUND")),
        post("at number", "at", changed(NEW_CALL, at=1_772_357_400)),
        post("at boolean", "at", changed(NEW_CALL, at=True)),
        post("at naive", "at", changed(NEW_CALL, at="2026-03-01T09:30:00")),
        post("at naive with millis", "at", changed(NEW_CALL, at="2026-03-01T09:30:00.000")),
        post("at date only", "at", changed(NEW_CALL, at="2026-03-01")),
        post("at words", "at", changed(NEW_CALL, at="yesterday")),
        post("command_id number", "command_id", changed(NEW_CALL, command_id=7)),
        post("extra field", "mode", changed(NEW_CALL, mode="always_on")),
        post("call_id too long", "call_id", changed(NEW_CALL, call_id=LONG_ID)),
        post("agent_id too long", "agent_id", changed(NEW_CALL, agent_id=LONG_ID)),
        post("command_id too long", "command_id", changed(NEW_CALL, command_id=LONG_ID)),
        post("malformed JSON", "body", raw=b'{"call_id": "c-new", '),
        post("empty body", "body", raw=b""),
        post("body a list", "body", [NEW_CALL]),
        post("body a string", "body", "c-new"),
    ]
    for field in ("call_id", "org_id", "agent_id", "command_id"):
        for bad in ("has space", "-leading", "a/b", "caf\u00e9", "", "semi;colon"):
            cases.append(post(f"{field} {bad!r}", field, changed(NEW_CALL, **{field: bad})))
    return cases


def command_cases() -> list[Case]:
    path = "/calls/c1/recording/pause"

    def post(name: str, field: str, body: Any = None, raw: bytes | None = None) -> Case:
        return Case(f"POST {path} {name}", "POST", path, field, body, raw)

    cases = [
        Case(f"{route} missing by", "POST", f"/calls/c1/{route}", "by", without(COMMAND, "by"))
        for route in COMMAND_PATHS.values()
    ]
    cases += [
        post("by number", "by", changed(COMMAND, by=5)),
        post("by null", "by", changed(COMMAND, by=None)),
        post("by empty", "by", changed(COMMAND, by="")),
        post("by too long", "by", changed(COMMAND, by="b" * 129)),
        post("at naive", "at", changed(COMMAND, at="2026-03-01T09:31:00")),
        post("at number", "at", changed(COMMAND, at=0)),
        post("at garbage", "at", changed(COMMAND, at="09:31")),
        post("command_id charset", "command_id", changed(COMMAND, command_id="k 1")),
        post("command_id too long", "command_id", changed(COMMAND, command_id=LONG_ID)),
        post("extra field", "state", changed(COMMAND, state="paused")),
        post("malformed JSON", "body", raw=b"{by: agent}"),
        post("body a list", "body", [COMMAND]),
        post("no body", "body", raw=b""),
        Case("path call_id charset", "POST", "/calls/bad id/recording/pause", "call_id", COMMAND),
        Case("path call_id too long", "POST", f"/calls/{LONG_ID}/end", "call_id", COMMAND),
        Case("GET call id charset", "GET", "/calls/bad$id", "call_id"),
        Case("GET timeline id charset", "GET", "/calls/-x/timeline", "call_id"),
    ]
    return cases


def policy_cases() -> list[Case]:
    path = "/policies/o-valid"

    def put(name: str, field: str, body: Any = None, raw: bytes | None = None) -> Case:
        return Case(f"PUT {path} {name}", "PUT", path, field, body, raw)

    return [
        put("missing mode", "mode", without(POLICY, "mode")),
        put("mode unknown", "mode", changed(POLICY, mode="sometimes")),
        put("mode number", "mode", changed(POLICY, mode=1)),
        put("missing changed_by", "changed_by", without(POLICY, "changed_by")),
        put("changed_by empty", "changed_by", changed(POLICY, changed_by="")),
        put("changed_by too long", "changed_by", changed(POLICY, changed_by="c" * 129)),
        put("reason too long", "reason", changed(POLICY, reason="r" * 1001)),
        put("reason number", "reason", changed(POLICY, reason=5)),
        put("pause_behavior unknown", "pause_behavior", changed(POLICY, pause_behavior="loud")),
        put("extra field", "version", changed(POLICY, version=3)),
        put("malformed JSON", "body", raw=b'{"mode": "on_demand",}'),
        Case("org id charset", "PUT", "/policies/o%20x", "org_id", POLICY),
        Case("GET org id charset", "GET", "/policies/o%20x", "org_id"),
        Case("agent id charset", "PUT", "/policies/o-valid/agents/a%20b", "agent_id", POLICY),
        Case("agent override bad mode", "PUT", "/policies/o-valid/agents/a1", "mode",
             changed(POLICY, mode="never")),
        *[put(f"max_pause_ms {name}", "max_pause_ms", changed(POLICY, max_pause_ms=value))
          for name, value in PAUSE_CAPS.items()],
        Case("agent override max_pause_ms too short", "PUT", "/policies/o-valid/agents/a1",
             "max_pause_ms", changed(POLICY, max_pause_ms=999)),
    ]


# Pause caps refused: outside 1000..86400000, or not a whole number.
PAUSE_CAPS = {"too short": 999, "zero": 0, "negative": -1000, "too long": 86_400_001,
              "text": "1000", "fraction": 1000.5, "boolean": True, "list": [1000]}


CASES = start_call_cases() + command_cases() + policy_cases()


def send(api: Api, case: Case) -> Any:
    if case.raw is not None:
        headers = {"content-type": "application/json"}
        return api.http.request(case.method, case.path, content=case.raw, headers=headers)
    if case.method == "GET":
        return api.http.get(case.path)
    return api.http.request(case.method, case.path, json=case.body)


def check_case(backend: Backend, api: Api, case: Case) -> None:
    head = backend.store.head()
    response = send(api, case)
    assert response.status_code == 422, (case.name, response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == "invalid_request", case.name
    assert case.field in error["fields"], (case.name, error)
    assert error["message"].startswith(f"{case.field}: ") or f"; {case.field}: " in (
        error["message"]
    ), (case.name, error)
    assert_nothing_stored(backend.store, head)


def test_the_table_has_one_case_per_defect() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) > 80


@pytest.fixture(scope="module")
def shared_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, Api]]:
    """One SQLite backend for the whole table: no case may store anything anyway."""
    built = build(Settings.from_env({}, data_dir=tmp_path_factory.mktemp("validation")))
    api = Api(built.app)
    prepare(built, api)
    yield built, api
    built.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_malformed_request_is_refused_naming_the_field(
    shared_sqlite: tuple[Backend, Api], case: Case
) -> None:
    check_case(*shared_sqlite, case)


@pytest.mark.postgres
def test_every_malformed_request_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    built = build(Settings.from_env({}, data_dir=tmp_path, postgres_url=postgres_url))
    try:
        api = Api(built.app)
        prepare(built, api)
        failures = []
        for case in CASES:
            try:
                check_case(built, api, case)
            except AssertionError as exc:
                failures.append(f"{case.name}: {exc}")
        assert failures == []
    finally:
        built.close()


def prepare(backend: Backend, api: Api) -> None:
    set_mode_policies(backend.service)
    assert api.start_call("c1", org_for("on_demand_uis")).status_code == 201
    assert api.put_policy("o-valid", "on_demand").status_code == 200


def test_a_valid_request_with_every_optional_field_is_accepted(backend: Backend, api: Api) -> None:
    """The baselines of the table are valid: each defect above is the only one."""
    prepare(backend, api)
    assert api.http.post("/calls", json=NEW_CALL).status_code == 201
    assert api.http.post("/calls/c-new/recording/start", json=COMMAND).status_code == 200
    assert api.http.put("/policies/o-valid", json=POLICY).status_code == 200
    assert api.http.put("/policies/o-valid/agents/a1", json=POLICY).status_code == 200


# The validator's and the framework's own phrasing, which must never reach a client.
FRAMEWORK_WORDS = ("Input should", "String should", "Field required", "Extra inputs",
                   "input is too short", "got None", "unable to parse", "Value error",
                   "There was an error", "valid dictionary", "[^\\", "{0,127}")

AUDIO_CASES = [
    ("rate missing", {"at": "2026-03-01T09:30:00.000Z"}, "rate", "required"),
    ("rate words", {"at": "2026-03-01T09:30:00.000Z", "rate": "fast"}, "rate", "8000 or 16000"),
    ("at missing", {"rate": "8000"}, "at", "required"),
    ("at words", {"at": "yesterday", "rate": "8000"}, "at", "RFC 3339"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_message_says_what_was_expected_in_our_words(
    shared_sqlite: tuple[Backend, Api], case: Case
) -> None:
    message = send(shared_sqlite[1], case).json()["error"]["message"]
    assert not [w for w in FRAMEWORK_WORDS if w in message], message
    assert any(word in message for word in ("must", "required", "expected", "is not a field")), \
        message


def test_what_each_kind_of_defect_says(shared_sqlite: tuple[Backend, Api]) -> None:
    api = shared_sqlite[1]
    said = {case.name: send(api, case).json()["error"]["message"] for case in CASES}
    assert said["POST /calls at words"] == (
        "at: must be an RFC 3339 time with an offset, e.g. 2026-03-01T09:30:00.000Z")
    assert said["POST /calls missing direction"] == "direction: is required"
    assert said["POST /calls direction sideways"] == "direction: must be 'inbound' or 'outbound'"
    assert said["POST /calls extra field"] == "mode: is not a field of this body"
    assert said["POST /calls call_id 'has space'"].startswith(
        "call_id: must be an id: 1 to 128 characters out of A-Z a-z 0-9 . _ : @ -")
    assert said["POST /calls/c1/recording/pause by number"] == "by: must be a string"
    assert said["POST /calls/c1/recording/pause by empty"] == "by: must not be empty"
    assert said["PUT /policies/o-valid reason too long"] == (
        "reason: must be at most 1000 characters long")
    assert said["POST /calls body a list"].startswith("body: must be a JSON object")
    assert said["POST /calls malformed JSON"].startswith("body: is not valid JSON: expected")


@pytest.mark.parametrize(("name", "query", "field", "says"), AUDIO_CASES,
                         ids=[c[0] for c in AUDIO_CASES])
def test_audio_query_values_are_explained(shared_sqlite: tuple[Backend, Api], name: str,
                                          query: dict[str, str], field: str, says: str) -> None:
    backend, api = shared_sqlite
    head = backend.store.head()
    answer = api.http.post("/calls/c1/audio", params=query, content=bytes(320),
                           headers={"content-type": "audio/L16"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["fields"] == [field] and error["message"].startswith(f"{field}: ")
    assert says in error["message"]
    assert not [w for w in FRAMEWORK_WORDS if w in error["message"]], error["message"]
    assert_nothing_stored(backend.store, head)


@pytest.mark.parametrize(("path", "query", "says"), [
    ("/calls/c1/timeline", "min_position=-1", "min_position: must be a whole number of at least 0"),
    ("/calls/c1/timeline", "min_position=abc", "min_position: must be a whole number"),
])
def test_query_values_are_explained(shared_sqlite: tuple[Backend, Api], path: str, query: str,
                                    says: str) -> None:
    answer = shared_sqlite[1].http.get(f"{path}?{query}")
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == says
