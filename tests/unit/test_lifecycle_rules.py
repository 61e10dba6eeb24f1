"""The compliance lifecycle's rules, without any store: retention, holds, deletions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.call import Call, CommandRequest
from domain.errors import HoldReleased, RecordingNotFound, RecordingStillOpen, UnknownHold
from domain.lifecycle import (
    DeletionReason,
    check_retention_days,
    hold_id,
    is_due,
    org_of_hold,
)
from domain.policy import Policy
from domain.rules import Command, Mode, PauseBehavior

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("days", [1, 30, 36_500, None])
def test_valid_retentions(days: int | None) -> None:
    assert check_retention_days(days) == days


@pytest.mark.parametrize("days", [0, -1, 36_501])
def test_retention_out_of_bounds(days: int) -> None:
    with pytest.raises(ValueError, match="audio_days must be between 1 and 36500"):
        check_retention_days(days)


def test_a_recording_is_due_strictly_after_its_retention() -> None:
    ended = T0
    assert not is_due(ended, 30, ended + timedelta(days=30))
    assert is_due(ended, 30, ended + timedelta(days=30, milliseconds=1))
    assert not is_due(None, 30, ended + timedelta(days=3000))  # still running
    assert not is_due(ended, None, ended + timedelta(days=3000))  # kept for ever


@pytest.mark.parametrize("org", ["acme", "a:b", "org:hold-2"])
def test_hold_ids_name_their_organisation(org: str) -> None:
    assert org_of_hold(hold_id(org, 12)) == org


@pytest.mark.parametrize("value", ["acme", "acme:hold-", "acme:hold-x", ":hold-1",
                                   "acme:hold-01"])
def test_other_text_is_no_hold_id(value: str) -> None:
    assert org_of_hold(value) is None


def policy() -> Policy:
    p = Policy.open("acme")
    p.set_mode(mode=Mode.ON_DEMAND, pause_behavior=PauseBehavior.SKIP, agent_id=None,
               changed_by="ann", reason=None, at=T0)
    return p


def test_holds_cover_a_call_an_agent_or_the_organisation_while_active() -> None:
    p = policy()
    on_call = p.place_hold(call_id="c1", agent_id=None, case="k", by="aud", reason=None, at=T0)
    on_agent = p.place_hold(call_id=None, agent_id="amy", case="k", by="aud", reason=None,
                            at=T0)
    assert (on_call.hold_id, on_agent.hold_id) == ("acme:hold-1", "acme:hold-2")
    assert [h.hold_id for h in p.holds_on("c1", frozenset({"bob"}))] == ["acme:hold-1"]
    assert [h.hold_id for h in p.holds_on("c2", frozenset({"bob", "amy"}))] == ["acme:hold-2"]
    assert p.holds_on("c2", frozenset({"bob"})) == []
    p.place_hold(call_id=None, agent_id=None, case="all", by="aud", reason=None, at=T0)
    assert len(p.holds_on("c9", frozenset({"zed"}))) == 1
    released = p.release_hold("acme:hold-1", by="aud", reason="closed", at=T0)
    assert (released.active, released.released_by) == (False, "aud")
    assert [h.hold_id for h in p.holds_on("c1", frozenset({"bob"}))] == ["acme:hold-3"]
    with pytest.raises(HoldReleased):
        p.release_hold("acme:hold-1", by="aud", reason=None, at=T0)
    with pytest.raises(UnknownHold):
        p.release_hold("acme:hold-9", by="aud", reason=None, at=T0)


def request(command: Command, at: datetime) -> CommandRequest:
    return CommandRequest(command=command, at=at, by="bob", command_id=None, fingerprint="x")


def test_only_a_closed_recording_of_the_call_can_be_deleted_once() -> None:
    call = Call.start(call_id="c1", org_id="acme", agent_id="bob", direction="inbound",
                      mode=Mode.ON_DEMAND_UIS, policy_version=2,
                      pause_behavior=PauseBehavior.SKIP, request=request(Command.START_CALL, T0))
    now, skew = T0 + timedelta(hours=1), timedelta(seconds=5)
    with pytest.raises(RecordingNotFound):
        call.check_deletable(1)
    call.handle(request(Command.START, T0 + timedelta(seconds=1)), now, skew)
    with pytest.raises(RecordingStillOpen):
        call.check_deletable(1)
    call.handle(request(Command.STOP, T0 + timedelta(seconds=2)), now, skew)
    version = call.version
    first = call.delete_recording(1, reason=DeletionReason.ERASURE, by="ann", at=now,
                                  sha256="ab" * 32)
    assert call.version == version + 1 and first.sha256 == "ab" * 32
    again = call.delete_recording(1, reason=DeletionReason.RETENTION, by="x", at=now,
                                  sha256=None)
    assert again == first and call.version == version + 1  # nothing more recorded
    assert call.state.value == "off" and call.timeline.intervals[-1].state.value == "off"
