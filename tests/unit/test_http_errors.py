"""The one table of HTTP answers: complete for every error raised on purpose, and in
agreement with the codes the domain itself uses."""

from __future__ import annotations

import inspect
import json

import pytest

import consumers.segments.errors as segment_errors
import domain.errors as domain_errors
import recaudit.access.errors as access_errors
import recaudit.core.readmodel as readmodel
from recaudit.core.committer import ConcurrencyExhausted
from recaudit.core.health import StoreUnavailable
from recaudit.http.errors import ANSWERS, ROOTS, answer, answer_for


def _classes(module: object, root: type[Exception]) -> list[type[Exception]]:
    return [c for _n, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, root) and c.__module__ == getattr(module, "__name__", "")]


ANSWERED = [
    *_classes(domain_errors, domain_errors.DomainError),
    *_classes(segment_errors, segment_errors.AudioRefused),
    *_classes(access_errors, access_errors.Refused),
    *_classes(readmodel, readmodel.ReadModelError),
    ConcurrencyExhausted,
    StoreUnavailable,
    segment_errors.StoreFailure,
]


@pytest.mark.parametrize("cls", ANSWERED, ids=lambda c: c.__name__)
def test_every_refusal_has_its_own_row(cls: type[Exception]) -> None:
    assert cls in ANSWERS, f"{cls.__name__} is answered only through a parent's row"
    assert any(issubclass(cls, root) for root in ROOTS)


@pytest.mark.parametrize("cls", [c for c in ANSWERED if issubclass(c, domain_errors.DomainError)],
                         ids=lambda c: c.__name__)
def test_domain_codes_agree_with_the_table(cls: type[domain_errors.DomainError]) -> None:
    assert ANSWERS[cls].code == cls.code


def test_only_the_http_layer_knows_statuses() -> None:
    for cls in ANSWERED:
        assert "status" not in vars(cls), f"{cls.__name__} carries an HTTP status"


def test_the_answer_carries_the_error_details() -> None:
    busy = answer(segment_errors.BacklogFull("too much audio is waiting"))
    assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    assert json.loads(busy.body) == {"error": {"code": "audio_backlog_full",
                                               "message": "too much audio is waiting"}}
    beyond = answer(readmodel.PositionBeyondHead(12, 9))
    assert beyond.status_code == 409
    assert json.loads(beyond.body)["error"] == {
        "code": "position_beyond_head", "head": 9,
        "message": str(readmodel.PositionBeyondHead(12, 9))}
    actor = answer(access_errors.ActorMismatch("by", "sue"))
    assert actor.status_code == 422
    assert json.loads(actor.body)["error"]["fields"] == ["by"]
    token = answer(access_errors.Unauthenticated("bad token", invalid=True))
    assert token.status_code == 401 and 'error="invalid_token"' in token.headers["www-authenticate"]
    down = answer(StoreUnavailable("connection refused"))
    assert (down.status_code, json.loads(down.body)["error"]["code"]) == (503, "store_unavailable")


def test_an_error_outside_the_table_is_not_guessed() -> None:
    with pytest.raises(LookupError):
        answer_for(ValueError("no row"))
