"""Many clients racing on the same calls, through the service and over HTTP, on both stores.

Afterwards each call's stream must be valid under the rules (re-checked with the reference
model), every answer must point at the event it claims, every refusal at its stored
CommandRejected, and nothing may be lost or stored twice. Two backends on the same
database (two group-commit writers) exercise the optimistic-concurrency retry path.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.errors import DomainError
from domain.published import PublishedEvent
from domain.rules import Command
from recaudit.bootstrap import Backend, build
from recaudit.core.service import CallResult
from recaudit.http.server import BackgroundServer
from recaudit.settings import Settings
from tests.core import model
from tests.core.helpers import call_events, check_stream, org_for, set_mode_policies

RACING = ("start", "pause", "resume", "stop", "pause", "resume", "start")


@dataclass(frozen=True)
class Request:
    call_id: str
    command: str
    by: str
    at: datetime | None
    command_id: str


@dataclass(frozen=True)
class Reply:
    """What one request came to: the status body it answered with and its refusal, if any."""

    request: Request
    code: str | None
    body: dict[str, Any]
    replay: bool  # sent again verbatim: must answer as the first time


def plan(thread: int, count: int, call_ids: list[str], seed: int) -> list[tuple[Request, bool]]:
    """One client's requests: mostly racing recording commands, some retried, ending the call."""
    rng = random.Random(seed * 1000 + thread)
    now = datetime.now(UTC)
    requests: list[tuple[Request, bool]] = []
    for i in range(count):
        if requests and rng.random() < 0.1:
            requests.append((requests[-1][0], True))  # a retry of the previous request
            continue
        command = "end" if i == count - 1 and rng.random() < 0.3 else rng.choice(RACING)
        # Mostly server time; sometimes a client time a little in the past (may be late).
        at = None if rng.random() < 0.75 else now - timedelta(milliseconds=rng.randint(0, 500))
        request = Request(rng.choice(call_ids), command, f"agent-{thread}", at, f"t{thread}-{i}")
        requests.append((request, False))
    return requests


def race(send: Callable[[Request], Reply], plans: list[list[tuple[Request, bool]]]) -> list[Reply]:
    replies: list[Reply] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(requests: list[tuple[Request, bool]]) -> None:
        try:
            for request, replay in requests:
                reply = send(request)
                with lock:
                    replies.append(Reply(reply.request, reply.code, reply.body, replay))
        except BaseException as exc:  # handed to the test thread below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=client, args=(p,)) for p in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client did not finish"
    assert not errors, errors
    return replies


def check_outcome(calls: dict[str, list[PublishedEvent]], replies: list[Reply]) -> None:
    """Every answer points at the event it claims; nothing lost, nothing doubled."""
    for call_id, events in calls.items():
        check_stream(events)
        ids = [e.fields["command_id"] for e in events[1:] if e.fields["command_id"] is not None]
        assert len(ids) == len(set(ids)), f"{call_id}: a command was stored twice"
    first: dict[str, Reply] = {}
    for reply in replies:  # a client's retry always comes after its first request
        first.setdefault(reply.request.command_id, reply)
    for reply in replies:
        check_reply(calls[reply.request.call_id], reply)
        original = first[reply.request.command_id]
        assert (reply.code, reply.body) == (original.code, original.body), "replay differs"
    for call_id, events in calls.items():
        sent = {r.request.command_id for r in replies if r.request.call_id == call_id}
        stored = {e.fields["command_id"] for e in events[1:] if e.fields["command_id"]}
        assert stored == sent, f"{call_id}: stored commands differ from the commands sent"


def check_reply(events: list[PublishedEvent], reply: Reply) -> None:
    body, request = reply.body, reply.request
    event = events[body["version"] - 1]
    assert event.position == body["position"], reply
    assert event.fields["command_id"] == request.command_id, reply
    assert body["state"] == state_after(events, body["version"]), reply
    if reply.code is None:
        assert event.type == model.EVENT_OF[request.command], reply
    else:
        assert event.type == "CommandRejected", reply
        assert (event.fields["command"], event.fields["code"]) == (request.command, reply.code)


def state_after(events: list[PublishedEvent], version: int) -> str:
    return check_stream(events[:version]).state


def start_calls(service_start: Callable[[str], None], call_ids: list[str]) -> None:
    for call_id in call_ids:
        service_start(call_id)


# -- through the service --------------------------------------------------------------------


def service_sender(backend: Backend) -> Callable[[Request], Reply]:
    def send(request: Request) -> Reply:
        result: CallResult = backend.service.command(
            request.call_id,
            Command(request.command),
            by=request.by,
            at=request.at,
            command_id=request.command_id,
        )
        code = result.refusal.value if result.refusal else None
        return Reply(request, code, result.status.to_json(result.position), False)

    return send


@pytest.mark.parametrize("mode", ["on_demand_uis", "pause_resume"])
def test_many_threads_on_one_call_through_the_service(
    backend: Backend, mode: str
) -> None:
    set_mode_policies(backend.service)
    backend.service.start_call(
        call_id="hot", org_id=org_for(mode), agent_id="agent-0", direction="inbound"
    )
    plans = [plan(t, 20, ["hot"], seed=1) for t in range(16)]

    replies = race(service_sender(backend), plans)

    assert len(replies) == 16 * 20
    check_outcome({"hot": call_events(backend.store, "hot")}, replies)


# -- over HTTP -------------------------------------------------------------------------------


@contextmanager
def http_sender(urls: list[str]) -> Iterator[Callable[[Request], Reply]]:
    """Sends each request to one of `urls`, with one connection per client thread and URL."""
    local = threading.local()
    opened: list[httpx.Client] = []
    lock = threading.Lock()

    def clients() -> list[httpx.Client]:
        if not hasattr(local, "clients"):
            local.clients = [httpx.Client(base_url=url, timeout=30) for url in urls]
            with lock:
                opened.extend(local.clients)
        return list(local.clients)

    def send(request: Request) -> Reply:
        client = random.choice(clients())
        path = "end" if request.command == "end" else f"recording/{request.command}"
        body: dict[str, Any] = {"by": request.by, "command_id": request.command_id}
        if request.at is not None:
            body["at"] = request.at.isoformat()
        response = client.post(f"/calls/{request.call_id}/{path}", json=body)
        assert response.status_code in (200, 409), (response.status_code, response.text)
        payload = response.json()
        if response.status_code == 200:
            return Reply(request, None, payload, False)
        return Reply(request, payload["error"]["code"], payload["error"]["call"], False)

    try:
        yield send
    finally:
        for client in opened:
            client.close()


def http_start(url: str, mode: str) -> Callable[[str], None]:
    def start(call_id: str) -> None:
        body = {"call_id": call_id, "org_id": org_for(mode), "agent_id": "a"}
        body["direction"] = "inbound"
        response = httpx.post(f"{url}/calls", json=body, timeout=30)
        assert response.status_code == 201, response.text

    return start


def test_many_clients_over_http(backend: Backend) -> None:
    set_mode_policies(backend.service)
    call_ids = ["h1", "h2"]
    with BackgroundServer(backend.app) as server:
        start_calls(http_start(server.url, "on_demand_uis"), call_ids)
        plans = [plan(t, 10, call_ids, seed=2) for t in range(8)]
        with http_sender([server.url]) as send:
            replies = race(send, plans)
    check_outcome({c: call_events(backend.store, c) for c in call_ids}, replies)


@pytest.fixture
def second_backend(backend: Backend, settings: Settings) -> Iterator[Backend]:
    """Another backend on the same event store files or database: a second writer."""
    other = build(settings)
    yield other
    other.close()


def test_two_writers_on_one_store_over_http(
    backend: Backend, second_backend: Backend
) -> None:
    set_mode_policies(backend.service)
    call_ids = ["w1", "w2", "w3"]
    with BackgroundServer(backend.app) as one, BackgroundServer(second_backend.app) as two:
        start_calls(http_start(one.url, "on_demand_uis"), call_ids[:2])
        start_calls(http_start(two.url, "pause_resume"), call_ids[2:])
        plans = [plan(t, 12, call_ids, seed=3) for t in range(8)]
        with http_sender([one.url, two.url]) as send:
            replies = race(send, plans)
    check_outcome({c: call_events(backend.store, c) for c in call_ids}, replies)


def test_two_writers_starting_the_same_call_answer_alike(
    backend: Backend, second_backend: Backend
) -> None:
    set_mode_policies(backend.service)
    results: dict[int, list[CallResult]] = {0: [], 1: []}
    barrier = threading.Barrier(8)

    def starter(index: int) -> None:
        service = (backend, second_backend)[index % 2].service
        barrier.wait(timeout=30)
        for n in range(5):
            results[index % 2].append(
                service.start_call(
                    call_id=f"same-{n}",
                    org_id=org_for("always_on"),
                    agent_id="agent-1",
                    direction="outbound",
                    command_id=f"start-{n}",
                    at=datetime(2026, 3, 1, 9, n, tzinfo=UTC),
                )
            )

    threads = [threading.Thread(target=starter, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = results[0] + results[1]
    assert len(every) == 40
    for n in range(5):
        events = call_events(backend.store, f"same-{n}")
        assert [e.type for e in events] == ["CallStarted", "RecordingStarted"]
        bodies = {
            str(r.status.to_json(r.position)) for r in every if r.status.call_id == f"same-{n}"
        }
        assert len(bodies) == 1, "every start of the same call must answer alike"
        assert all(r.refusal is None for r in every)
        assert events[1].position in {r.position for r in every if r.status.call_id == f"same-{n}"}


def test_two_orgs_racing_for_one_call_id_record_nothing_on_the_winner(
    backend: Backend, second_backend: Backend
) -> None:
    """Two organisations start the same call id at once, through two writers: one call is
    created; every start of the other organisation is `call_id_taken` and leaves nothing."""
    set_mode_policies(backend.service)
    orgs = (org_for("on_demand"), org_for("always_on"))
    answers: list[tuple[str, str | None]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def starter(index: int) -> None:
        org_id = orgs[index % 2]
        service = (backend, second_backend)[index // 2 % 2].service
        barrier.wait(timeout=30)
        try:
            result = service.start_call(call_id="contested", org_id=org_id,
                                        agent_id=f"agent-of-{org_id}", direction="inbound")
            code = result.refusal.value if result.refusal else None
        except DomainError as exc:
            code = exc.code
        with lock:
            answers.append((org_id, code))

    threads = [threading.Thread(target=starter, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    events = call_events(backend.store, "contested")
    winner = events[0].fields["org_id"]
    assert len(answers) == 12 and [org for org, code in answers if code is None] == [winner]
    assert {code for org, code in answers if org != winner} == {"call_id_taken"}
    rejected = [e for e in events if e.type == "CommandRejected"]
    assert {e.fields["by"] for e in rejected} <= {f"agent-of-{winner}"}
    assert len(rejected) == len([org for org, code in answers if org == winner]) - 1, answers
