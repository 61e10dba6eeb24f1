"""Repeating a request with its command_id: the first outcome again, nothing stored.
Reusing a command_id for another command: 409 idempotency_conflict, nothing stored."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from recaudit.bootstrap import Backend, build
from tests.api.client import Api, current_timeline, error_of
from tests.core import model
from tests.core.helpers import assert_nothing_stored, at_ms, org_for, set_mode_policies


@pytest.fixture
def ready(backend: Backend) -> Backend:
    set_mode_policies(backend.service)
    return backend


def repeat_and_compare(
    backend: Backend, send: Callable[[], httpx.Response]
) -> tuple[int, dict]:
    """Send twice; the second answer must equal the first and store nothing."""
    first = send()
    head = backend.store.head()
    second = send()
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert_nothing_stored(backend.store, head)
    return first.status_code, first.json()


@pytest.mark.parametrize("mode", model.MODES)
def test_repeated_start_call_answers_as_the_first_time(
    ready: Backend, api: Api, mode: str
) -> None:
    status, body = repeat_and_compare(
        ready, lambda: api.start_call("c1", org_for(mode), at=at_ms(0), command_id="s1")
    )
    assert status == 201
    assert body["state"] == model.FIRST_STATE[mode]
    assert body["position"] == ready.store.head()  # the last event start call stored


def test_repeated_start_call_without_a_time_answers_as_the_first_time(
    ready: Backend, api: Api
) -> None:
    status, _ = repeat_and_compare(
        ready, lambda: api.start_call("c1", org_for("always_on"), command_id="s1")
    )
    assert status == 201


def test_repeated_command_answers_as_the_first_time(ready: Backend, api: Api) -> None:
    api.start_call("c1", org_for("on_demand_uis"), at=at_ms(0))
    status, body = repeat_and_compare(
        ready, lambda: api.command("c1", "start", at=at_ms(1_000), command_id="k1")
    )
    assert (status, body["state"], body["recording_no"]) == (200, "recording", 1)


def test_repeated_refused_command_answers_with_the_same_refusal(ready: Backend, api: Api) -> None:
    api.start_call("c1", org_for("always_on"), at=at_ms(0))
    status, body = repeat_and_compare(
        ready, lambda: api.command("c1", "pause", at=at_ms(1_000), command_id="k1")
    )
    assert status == 409 and body["error"]["code"] == "not_permitted"
    assert len(current_timeline(ready, api, "c1")["rejected"]) == 1


def test_a_repeat_after_the_call_moved_on_returns_the_call_as_it_was(
    ready: Backend, api: Api
) -> None:
    api.start_call("c1", org_for("on_demand_uis"), at=at_ms(0))
    first = api.command("c1", "start", at=at_ms(1_000), command_id="k1").json()
    api.command("c1", "pause", at=at_ms(2_000), command_id="k2")
    api.command("c1", "end", at=at_ms(3_000), command_id="k3")
    head = ready.store.head()
    again = api.command("c1", "start", at=at_ms(1_000), command_id="k1")
    assert (again.status_code, again.json()) == (200, first)
    assert first["state"] == "recording" and api.call("c1").json()["state"] == "ended"
    assert_nothing_stored(ready.store, head)


def test_a_repeat_is_recognised_after_a_restart(ready: Backend, api: Api) -> None:
    api.start_call("c1", org_for("pause_resume"), at=at_ms(0), command_id="s1")
    first = api.command("c1", "pause", at=at_ms(1_000), command_id="k1")
    restarted = build(ready.settings)  # a new process on the same store: no shared memory
    try:
        head = restarted.store.head()
        again = Api(restarted.app).command("c1", "pause", at=at_ms(1_000), command_id="k1")
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        conflict = Api(restarted.app).command("c1", "resume", at=at_ms(2_000), command_id="k1")
        assert error_of(conflict) == (409, "idempotency_conflict")
        assert_nothing_stored(restarted.store, head)
    finally:
        restarted.close()


@pytest.mark.parametrize(
    "second",
    [
        {"command": "stop"},  # another command
        {"at": at_ms(1_001)},  # another time
        {"at": None},  # the time left to the server this time
        {"by": "agent-2"},  # someone else
    ],
    ids=["command", "time", "no time", "actor"],
)
def test_reusing_a_command_id_for_another_command_is_a_conflict(
    ready: Backend, api: Api, second: dict
) -> None:
    api.start_call("c1", org_for("on_demand_uis"), at=at_ms(0))
    first = {"command": "start", "at": at_ms(1_000), "by": "agent-1"}
    assert api.command("c1", first["command"], at=first["at"], command_id="k1").status_code == 200
    before = api.call("c1").json()
    head = ready.store.head()
    request = first | second
    response = api.command(
        "c1", request["command"], at=request["at"], by=request["by"], command_id="k1"
    )
    assert error_of(response) == (409, "idempotency_conflict")
    assert_nothing_stored(ready.store, head)
    assert api.call("c1").json() == before


@pytest.mark.parametrize(
    "change", [{"direction": "outbound"}, {"agent_id": "agent-9"}, {"at": at_ms(5)}]
)
def test_reusing_a_start_call_command_id_differently_is_a_conflict(
    ready: Backend, api: Api, change: dict
) -> None:
    api.start_call("c1", org_for("on_demand"), at=at_ms(0), command_id="s1")
    head = ready.store.head()
    request = {"at": at_ms(0), "agent_id": "agent-1", "direction": "inbound"} | change
    response = api.start_call("c1", org_for("on_demand"), command_id="s1", **request)
    assert error_of(response) == (409, "idempotency_conflict")
    assert_nothing_stored(ready.store, head)


def test_command_ids_belong_to_their_call(ready: Backend, api: Api) -> None:
    api.start_call("c1", org_for("pause_resume"), at=at_ms(0))
    api.start_call("c2", org_for("pause_resume"), at=at_ms(0))
    assert api.command("c1", "pause", at=at_ms(1_000), command_id="k1").status_code == 200
    head = ready.store.head()
    response = api.command("c2", "pause", at=at_ms(2_000), command_id="k1")
    assert response.status_code == 200 and response.json()["version"] == 3
    assert ready.store.head() == head + 1
