"""Every refusal code over HTTP, and what each leaves in the store (one CommandRejected or
nothing at all)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from recaudit.bootstrap import Backend
from tests.api.client import COMMAND_PATHS, Api, current_timeline, error_of
from tests.core.helpers import (
    assert_nothing_stored,
    assert_one_rejection,
    at_ms,
    org_for,
    set_mode_policies,
    stored,
)

FAR_FUTURE = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
def ready(backend: Backend) -> Backend:
    set_mode_policies(backend.service)
    return backend


def started(api: Api, call_id: str, mode: str, at_offset: int = 0) -> dict:
    response = api.start_call(call_id, org_for(mode), at=at_ms(at_offset))
    assert response.status_code == 201, response.text
    return response.json()


def check_rule_refusal(
    backend: Backend,
    api: Api,
    call_id: str,
    command: str,
    expected: tuple[str, str],
    **body: object,
) -> None:
    """The command is refused with 409 `code` and leaves exactly one CommandRejected."""
    code, state = expected
    before = api.call(call_id).json()
    head = backend.store.head()

    response = api.command(call_id, command, **body)  # type: ignore[arg-type]

    assert error_of(response) == (409, code)
    event = assert_one_rejection(
        backend.store, head, call_id=call_id, command=command, code=code, state=state
    )
    status = response.json()["error"]["call"]
    assert status["state"] == before["state"] == state
    assert (status["version"], status["position"]) == (before["version"] + 1, event.position)
    assert event.version == status["version"]
    after = api.call(call_id).json()
    assert {k: v for k, v in after.items() if k not in ("version", "position")} == {
        k: v for k, v in before.items() if k not in ("version", "position")
    }, "a refusal must not change the call"


def test_call_ended(ready: Backend, api: Api) -> None:
    started(api, "c1", "on_demand_uis")
    assert api.command("c1", "end", at=at_ms(1_000)).status_code == 200
    for command in COMMAND_PATHS:
        check_rule_refusal(ready, api, "c1", command, ("call_ended", "ended"), at=at_ms(2_000))


@pytest.mark.parametrize(
    ("mode", "command"),
    [("always_on", "pause"), ("always_on", "start"), ("pause_resume", "stop"),
     ("on_demand", "stop"), ("pause_resume", "start")],
)
def test_not_permitted(ready: Backend, api: Api, mode: str, command: str) -> None:
    status = started(api, "c1", mode)
    check_rule_refusal(
        ready, api, "c1", command, ("not_permitted", status["state"]), at=at_ms(1_000)
    )


def test_invalid_state(ready: Backend, api: Api) -> None:
    started(api, "c1", "on_demand_uis")
    for command in ("pause", "resume", "stop"):
        check_rule_refusal(ready, api, "c1", command, ("invalid_state", "off"), at=at_ms(1_000))
    api.command("c1", "start", at=at_ms(2_000))
    for command in ("start", "resume"):
        check_rule_refusal(
            ready, api, "c1", command, ("invalid_state", "recording"), at=at_ms(3_000)
        )


def test_out_of_order(ready: Backend, api: Api) -> None:
    started(api, "c1", "pause_resume", at_offset=10_000)
    check_rule_refusal(
        ready, api, "c1", "pause", ("out_of_order", "recording"), at=at_ms(9_999)
    )


def test_future_timestamp(ready: Backend, api: Api) -> None:
    started(api, "c1", "pause_resume")
    check_rule_refusal(
        ready, api, "c1", "pause", ("future_timestamp", "recording"), at=FAR_FUTURE
    )


def test_a_rule_refusal_wins_over_a_time_refusal(ready: Backend, api: Api) -> None:
    started(api, "c1", "always_on", at_offset=10_000)
    check_rule_refusal(ready, api, "c1", "pause", ("not_permitted", "recording"), at=at_ms(1))
    check_rule_refusal(
        ready, api, "c1", "pause", ("not_permitted", "recording"), at=FAR_FUTURE
    )


def test_a_call_cannot_start_in_the_future(ready: Backend, api: Api) -> None:
    head = ready.store.head()
    response = api.start_call("c1", org_for("on_demand"), at=FAR_FUTURE)
    assert error_of(response) == (409, "future_timestamp")
    assert_nothing_stored(ready.store, head)
    assert error_of(api.call("c1")) == (404, "unknown_call")


def test_a_call_cannot_start_further_back_than_the_backdating_bound(
    ready: Backend, api: Api
) -> None:
    head = ready.store.head()
    response = api.start_call("c1", org_for("on_demand"), at=datetime(1970, 1, 1, tzinfo=UTC))
    assert error_of(response) == (409, "past_timestamp")
    assert "1970-01-01T00:00:00.000Z" in response.json()["error"]["message"]
    assert_nothing_stored(ready.store, head)
    assert error_of(api.call("c1")) == (404, "unknown_call")


def test_starting_a_started_call_again_is_refused_and_recorded(ready: Backend, api: Api) -> None:
    started(api, "c1", "on_demand")
    head = ready.store.head()
    response = api.start_call("c1", org_for("on_demand"), at=at_ms(1_000))
    assert error_of(response) == (409, "invalid_state")
    assert_one_rejection(
        ready.store, head, call_id="c1", command="start_call", code="invalid_state", state="off"
    )


def test_another_orgs_call_id_is_taken_and_reveals_nothing(ready: Backend, api: Api) -> None:
    started(api, "c1", "on_demand")
    head = ready.store.head()
    responses = [api.start_call("c1", org_for("always_on"), agent_id="eve", at=at_ms(1_000)),
                 api.start_call("c1", org_for("always_on"), agent_id="eve", at=FAR_FUTURE)]
    for response in responses:
        assert error_of(response) == (409, "call_id_taken")
        assert set(response.json()["error"]) == {"code", "message"}
        assert org_for("on_demand") not in response.text and "agent-1" not in response.text
    assert_nothing_stored(ready.store, head)
    assert current_timeline(ready, api, "c1")["rejected"] == []


def test_concurrent_starts_of_another_orgs_call_id_over_http(ready: Backend, api: Api) -> None:
    started(api, "c1", "on_demand")
    head = ready.store.head()
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(
            lambda _: api.start_call("c1", org_for("always_on"), agent_id="eve"), range(10)))
    assert [error_of(r) for r in responses] == [(409, "call_id_taken")] * 10
    assert all("call" not in r.json()["error"] for r in responses)
    assert_nothing_stored(ready.store, head)


@pytest.mark.parametrize("command", list(COMMAND_PATHS))
def test_unknown_call(ready: Backend, api: Api, command: str) -> None:
    head = ready.store.head()
    response = api.command("nobody", command)
    assert error_of(response) == (404, "unknown_call")
    assert "nobody" in response.json()["error"]["message"]
    assert error_of(api.call("nobody")) == (404, "unknown_call")
    assert error_of(api.timeline("nobody")) == (404, "unknown_call")
    assert_nothing_stored(ready.store, head)


def test_no_policy_for_a_new_call(backend: Backend, api: Api) -> None:
    head = backend.store.head()
    response = api.start_call("c1", "org-without-policy")
    assert error_of(response) == (409, "no_policy")
    assert "org-without-policy" in response.json()["error"]["message"]
    assert_nothing_stored(backend.store, head)


def test_no_policy_to_read(backend: Backend, api: Api) -> None:
    response = api.http.get("/policies/x")
    assert error_of(response) == (404, "no_policy")
    assert stored(backend.store) == []


def test_idempotency_conflict(ready: Backend, api: Api) -> None:
    started(api, "c1", "on_demand_uis")
    assert api.command("c1", "start", at=at_ms(1_000), command_id="k1").status_code == 200
    head = ready.store.head()
    response = api.command("c1", "stop", at=at_ms(2_000), command_id="k1")
    assert error_of(response) == (409, "idempotency_conflict")
    assert "k1" in response.json()["error"]["message"]
    assert_nothing_stored(ready.store, head)
    assert api.call("c1").json()["state"] == "recording"
