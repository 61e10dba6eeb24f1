"""The pure rules (domain.rules) against the reference model, cell by cell."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.call import time_refusal
from domain.rules import (
    INDICATOR,
    CallState,
    Command,
    Mode,
    Refusal,
    allowed_actions,
    initial_state,
    next_state,
    rule_refusal,
)
from tests.core import model
from tests.core.helpers import at_ms

EXISTING_STATES = [s for s in model.STATES if s != "new"]
TABLE = [
    (mode, state, command)
    for mode in model.MODES
    for state in EXISTING_STATES
    for command in model.COMMANDS
]


def test_the_table_covers_every_mode_state_and_command() -> None:
    assert len(TABLE) == 4 * 4 * 6
    assert {m.value for m in Mode} == set(model.MODES)
    assert {s.value for s in CallState} == set(EXISTING_STATES)
    assert {c.value for c in Command} == {*model.COMMANDS, model.TRANSFER}


@pytest.mark.parametrize(("mode", "state", "command"), TABLE)
def test_rule_refusal_matches_the_rules(mode: str, state: str, command: str) -> None:
    refusal = rule_refusal(Mode(mode), CallState(state), Command(command))
    expected = model.rule_code(mode, state, command)
    assert (refusal.value if refusal else None) == expected


@pytest.mark.parametrize("mode", model.MODES)
def test_a_new_call_starts_in_the_modes_first_state(mode: str) -> None:
    assert initial_state(Mode(mode)).value == model.FIRST_STATE[mode]


@pytest.mark.parametrize("command", model.CALL_COMMANDS)
def test_next_state_is_where_the_command_leads(command: str) -> None:
    targets = set(model.MOVES[command].values())
    assert next_state(Command(command)).value in targets
    assert len(targets) == 1


def test_start_call_does_not_move_an_existing_call() -> None:
    with pytest.raises(ValueError, match="start_call"):
        next_state(Command.START_CALL)


@pytest.mark.parametrize(
    ("mode", "state"), [(m, s) for m in model.MODES for s in EXISTING_STATES]
)
def test_allowed_actions_are_the_commands_no_rule_refuses(mode: str, state: str) -> None:
    offered = [c.value for c in allowed_actions(Mode(mode), CallState(state))]
    assert offered == model.actions(mode, state)
    assert "start_call" not in offered


@pytest.mark.parametrize("state", EXISTING_STATES)
def test_indicator_per_state(state: str) -> None:
    assert INDICATOR[CallState(state)] == model.INDICATOR[state]


def test_refusal_codes_are_listed_in_precedence_order() -> None:
    # The rules page's five codes come first, in its order; extensions may follow.
    assert [r.value for r in Refusal][: len(model.CODES)] == list(model.CODES)


def test_ended_beats_not_permitted_and_invalid_state() -> None:
    # stop is never permitted in always_on and pause is invalid from ended: ended wins.
    assert rule_refusal(Mode.ALWAYS_ON, CallState.ENDED, Command.STOP) is Refusal.CALL_ENDED
    assert rule_refusal(Mode.ON_DEMAND, CallState.ENDED, Command.PAUSE) is Refusal.CALL_ENDED


def test_not_permitted_beats_invalid_state() -> None:
    # resume while recording is also the wrong state, but always_on never allows it.
    assert (
        rule_refusal(Mode.ALWAYS_ON, CallState.RECORDING, Command.RESUME)
        is Refusal.NOT_PERMITTED
    )
    assert rule_refusal(Mode.ON_DEMAND, CallState.OFF, Command.STOP) is Refusal.NOT_PERMITTED


SKEW = timedelta(seconds=5)


@pytest.mark.parametrize(
    ("at", "last", "now", "expected"),
    [
        (10_000, 10_000, 10_000, None),  # same instant as the last event: in order
        (15_000, 10_000, 10_000, None),  # exactly now + skew: allowed
        (15_001, 10_000, 10_000, Refusal.FUTURE_TIMESTAMP),
        (9_999, 10_000, 10_000, Refusal.OUT_OF_ORDER),
        # earlier than the last event AND beyond the clock (the clock went back): order wins
        (20_000, 30_000, 0, Refusal.OUT_OF_ORDER),
    ],
)
def test_time_refusal(at: int, last: int, now: int, expected: Refusal | None) -> None:
    assert time_refusal(at_ms(at), at_ms(last), at_ms(now), SKEW) is expected
