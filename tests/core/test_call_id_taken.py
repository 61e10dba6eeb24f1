"""A new call whose id another organisation's call already has: `call_id_taken`, with
nothing recorded on that call and nothing of it revealed, alone or under concurrency, on
SQLite and PostgreSQL. Within the same organisation, starting an existing call stays the
recorded `invalid_state` (or `call_ended`) refusal."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import CallIdTaken, DomainError
from domain.rules import Command
from recaudit.bootstrap import Backend
from recaudit.core.service import CallResult
from tests.core.helpers import (
    assert_nothing_stored,
    assert_one_rejection,
    at_ms,
    call_events,
    org_for,
    set_mode_policies,
)

OWNER = org_for("on_demand")
OTHER = org_for("always_on")


def start(backend: Backend, org_id: str, **extra: object) -> CallResult:
    return backend.service.start_call(call_id="shared", org_id=org_id, agent_id="eve",
                                      direction="inbound", **extra)  # type: ignore[arg-type]


@pytest.fixture
def owned(backend: Backend) -> Backend:
    """Organisation OWNER has the call `shared`, started with command id `k1`."""
    set_mode_policies(backend.service)
    backend.service.start_call(call_id="shared", org_id=OWNER, agent_id="amy",
                               direction="outbound", at=at_ms(0), command_id="k1")
    return backend


@pytest.mark.parametrize("extra", [
    {},
    {"command_id": "k1"},  # the owner's own command id: no replay, no idempotency conflict
    {"at": at_ms(-1)},  # would be out of order on the call
    {"at": datetime.now(UTC) + timedelta(days=1)},  # would be future_timestamp
], ids=["plain", "owners-command-id", "early", "future"])
def test_another_orgs_call_id_is_taken_and_nothing_recorded(
    owned: Backend, extra: dict[str, object]
) -> None:
    before = owned.service.call("shared").status
    head = owned.store.head()
    with pytest.raises(CallIdTaken) as caught:
        start(owned, OTHER, **extra)
    assert caught.value.code == "call_id_taken"
    message = str(caught.value)
    assert OWNER not in message and "amy" not in message
    assert_nothing_stored(owned.store, head)
    assert owned.service.call("shared").status == before


def test_an_ended_call_of_another_org_is_taken_too(owned: Backend) -> None:
    owned.service.command("shared", Command.END, by="amy", at=at_ms(10))
    head = owned.store.head()
    with pytest.raises(CallIdTaken):
        start(owned, OTHER)
    assert_nothing_stored(owned.store, head)


def test_the_owners_repeat_is_still_the_recorded_refusal(owned: Backend) -> None:
    head = owned.store.head()
    result = start(owned, OWNER, at=at_ms(5))
    assert result.refusal is not None and result.refusal.value == "invalid_state"
    assert_one_rejection(owned.store, head, call_id="shared", command="start_call",
                         code="invalid_state", state="off")


def test_concurrent_starts_from_another_org_record_nothing(owned: Backend) -> None:
    head = owned.store.head()
    barrier = threading.Barrier(10)
    outcomes: list[object] = []
    lock = threading.Lock()

    def eve() -> None:
        barrier.wait(timeout=30)
        try:
            outcome: object = start(owned, OTHER)
        except DomainError as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=eve) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 10
    assert all(isinstance(o, CallIdTaken) for o in outcomes), outcomes
    assert_nothing_stored(owned.store, head)
    assert [e.type for e in call_events(owned.store, "shared")] == ["CallStarted"]
