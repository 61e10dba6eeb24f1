"""The call commands' short way through the server answers exactly as the routes do.

Two backends on the same fake clock get the same requests in the same order: one with
`Content-Type: application/json`, which the short way takes when the body is plain, the
other with `application/json; charset=utf-8`, which it always hands to the framework's
routes. Every answer (status, headers, body) and the events stored must be the same.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.rules import Mode
from recaudit.bootstrap import build
from recaudit.settings import Settings
from tests.core.helpers import NOW_MS, FakeClock

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SHORT = "application/json"
FRAMEWORK = "application/json; charset=utf-8"
MODES = [mode.value for mode in Mode]


class Twin:
    def __init__(self, root: Path) -> None:
        self.backend = build(Settings.from_env({}, data_dir=root), clock=FakeClock(NOW_MS))
        for mode in Mode:
            self.backend.service.set_policy(f"org-{mode.value}", mode=mode, changed_by="setup")
        self.http = TestClient(self.backend.app)

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, Any, dict[str, str]]:
        answer = self.http.post(path, content=body, headers={"content-type": content_type})
        return answer.status_code, answer.json(), dict(answer.headers)

    def close(self) -> None:
        self.http.close()
        self.backend.close()


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Twin, Twin]]:
    short, framework = Twin(tmp_path_factory.mktemp("short")), Twin(
        tmp_path_factory.mktemp("framework"))
    yield short, framework
    short.close()
    framework.close()


# -- bodies, plain and otherwise ------------------------------------------------------------

ids = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:@-]{0,12}\Z"),
    st.sampled_from(["", "a\n", "-a", "a" * 128, "a" * 129, "café", "a/b", "a b"]),
    st.integers(), st.none(), st.lists(st.just("a"), max_size=1),
)
actors = st.one_of(
    st.sampled_from(["agent-1", "Zoë Brontë", "a" * 128, "a" * 129, "", "a\n", "a\tb",
                     "a\u202eb", "x\u0000"]),
    st.text(max_size=6), st.integers(), st.booleans(),
)
times = st.one_of(
    st.sampled_from([
        "2026-03-01T09:59:58.000Z", "2026-03-01T09:59:59Z", "2026-03-01T15:29:59.5+05:30",
        "2026-03-01T09:59:59.1234567Z", "2026-03-01t09:59:59Z", "2026-03-01 09:59:59Z",
        "2026-03-01T09:59:59", "2026-03-01", "2026-03-01T10:00:30.000Z",
        "1969-12-31T23:59:59.999Z", "2026-03-01T24:00:00Z", "2026-02-30T09:00:00Z",
        "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "soon", "",
        "2026-03-01T09:59:59.000-00:00",
    ]),
    st.integers(min_value=0, max_value=2_000_000_000), st.floats(allow_nan=False),
    st.none(),
)
MISSING = object()
VALID_TIMES = ["2026-03-01T09:59:58.000Z", "2026-03-01T09:59:59Z",
               "2026-03-01T15:29:59.5+05:30", "2026-03-01T09:59:59.000-00:00"]


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]
           ) -> st.SearchStrategy[Any]:
    """`valid` nineteen times in twenty, else `other`."""
    return st.integers(0, 19).flatmap(lambda n: other if n == 0 else valid)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(strategy, st.just(MISSING))


def members(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not MISSING}


@st.composite
def start_bodies(draw: st.DrawFn, call_id: str) -> bytes:
    fields = members(
        call_id=draw(mostly(st.just(call_id), ids)),
        org_id=draw(mostly(st.sampled_from([f"org-{m}" for m in MODES]), ids)),
        agent_id=draw(mostly(st.just("agent-1"), ids)),
        direction=draw(mostly(st.sampled_from(["inbound", "outbound"]),
                              st.sampled_from(["Inbound", 1, MISSING]))),
        at=draw(mostly(st.sampled_from([*VALID_TIMES, MISSING]), times)),
        command_id=draw(mostly(st.sampled_from([f"{call_id}-s", MISSING]), ids)),
    )
    if draw(st.integers(0, 19)) == 0:
        fields["extra"] = 1
    return _encoded(draw, fields)


@st.composite
def command_bodies(draw: st.DrawFn) -> bytes:
    fields = members(
        by=draw(mostly(st.just("agent-1"), st.one_of(st.just(MISSING), actors))),
        at=draw(mostly(st.sampled_from([*VALID_TIMES, MISSING]), times)),
        command_id=draw(mostly(st.one_of(st.just(MISSING), st.uuids().map(str)), ids)))
    if draw(st.integers(0, 19)) == 0:
        fields["to_agent_id"] = "agent-2"
    return _encoded(draw, fields)


def _encoded(draw: st.DrawFn, fields: dict[str, Any]) -> bytes:
    form = draw(st.integers(0, 39))
    if form == 0:
        return b"[" + json.dumps(fields).encode() + b"]"
    if form == 1:
        return json.dumps(fields).encode()[:-1]  # cut short
    if form == 2:
        return b'{"by": "\\ud800"}'  # a lone surrogate
    return json.dumps(fields, ensure_ascii=draw(st.booleans())).encode()


COMMAND_SUFFIXES = ["recording/start", "recording/pause", "recording/resume", "recording/stop",
                    "end", "transfer", "recording/rewind"]
counter = iter(range(1_000_000))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_answer_is_the_routes_answer(twins: tuple[Twin, Twin], data: st.DataObject
                                           ) -> None:
    short, framework = twins
    call_id = f"fp-{next(counter)}"
    requests = [("/calls", data.draw(start_bodies(call_id)))]
    for _ in range(data.draw(st.integers(1, 6))):
        target = data.draw(mostly(st.just(call_id), st.sampled_from(
            ["fp-none", "-a", "a" * 129, "caf%C3%A9", "a%0A"])))
        suffix = data.draw(st.sampled_from(COMMAND_SUFFIXES))
        requests.append((f"/calls/{target}/{suffix}", data.draw(command_bodies())))
    for path, body in requests:
        answer = short.post(path, body, SHORT)
        assert answer == framework.post(path, body, FRAMEWORK), (path, body)
        event(f"{path.rpartition('/')[2]} {answer[0]}")
    assert short.backend.store.head() == framework.backend.store.head()


def test_plain_requests_take_the_short_way(tmp_path: Path) -> None:
    twin = Twin(tmp_path)
    service = twin.backend.service
    taken: list[str] = []
    start_call, command = service.start_call, service.command
    service.start_call = lambda **kw: taken.append("start_call") or start_call(**kw)  # type: ignore[method-assign]
    service.command = lambda *a, **kw: taken.append("command") or command(*a, **kw)  # type: ignore[method-assign]
    try:
        body = {"call_id": "c1", "org_id": "org-pause_resume", "agent_id": "agent-1",
                "direction": "inbound", "at": "2026-03-01T09:59:58.000Z", "command_id": "s"}
        status, answer, _ = twin.post("/calls", json.dumps(body).encode(), SHORT)
        assert (status, answer["state"]) == (201, "recording")
        pause = b'{"by": "agent-1", "command_id": "p1"}'
        status, answer, _ = twin.post("/calls/c1/recording/pause", pause, SHORT)
        assert (status, answer["state"]) == (200, "paused")
        # Sent again: the first answer, built from the store on a worker thread.
        assert twin.post("/calls/c1/recording/pause", pause, SHORT)[:2] == (status, answer)
        head = twin.backend.store.head()
        status, answer, _ = twin.post("/calls/c1/recording/pause", b'{"by": "agent-1"}', SHORT)
        assert (status, answer["error"]["code"]) == (409, "invalid_state")
        assert twin.backend.store.head() == head + 1  # the refusal is stored
        assert taken == []
        status, answer, _ = twin.post("/calls/c1/recording/resume", b'{"by": "agent-1"}',
                                      FRAMEWORK)
        assert (status, answer["state"]) == (200, "recording")
        status, answer, _ = twin.post("/calls/c1/end", b'{"by": "agent-1", "at": 5}', SHORT)
        assert status == 422 and answer["error"]["fields"] == ["at"]
        assert taken == ["command"]  # the framework's route answered those two
    finally:
        twin.close()


def test_a_store_error_on_the_short_way_marks_the_store_down(tmp_path: Path) -> None:
    twin = Twin(tmp_path)
    service = twin.backend.service

    async def failing(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("disk I/O error")

    try:
        body = {"call_id": "c1", "org_id": "org-always_on", "agent_id": "agent-1",
                "direction": "outbound"}
        assert twin.post("/calls", json.dumps(body).encode(), SHORT)[0] == 201
        head = twin.backend.store.head()
        service.command_async = failing  # type: ignore[method-assign]
        status, answer, _ = twin.post("/calls/c1/end", b'{"by": "agent-1"}', SHORT)
        assert (status, answer["error"]["code"]) == (503, "store_unavailable")
        assert service.health.is_down
        assert twin.backend.store.head() == head
    finally:
        twin.close()
