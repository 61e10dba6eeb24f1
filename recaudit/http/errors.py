"""The one place where errors become HTTP answers.

Every package raises errors that say what went wrong; only this module knows which
status and code each is answered with (`ANSWERS`, looked up along the error's class
hierarchy, most specific first), and `error_response` is the one builder of the
contract's error body `{"error": {"code", "message", ...}}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consumers.segments.errors import (
    AudioBeforeCall,
    AudioOverlap,
    AudioRefused,
    BacklogFull,
    CallAudioEnded,
    ChunkTooLarge,
    FutureAudio,
    InvalidAudio,
    RangeNotSatisfiable,
    RateMismatch,
    RecordingGone,
    RecordingOpen,
    StoreFailure,
    UnknownRecording,
    UnsupportedMediaType,
)
from domain.errors import (
    AudioDeleted,
    CommandRefused,
    DomainError,
    FutureTimestamp,
    HoldReleased,
    IdempotencyConflict,
    NoPolicy,
    PastTimestamp,
    RecordingHeld,
    RecordingNotFound,
    RecordingStillOpen,
    UnknownCall,
    UnknownHold,
    UnknownOverride,
    UnknownPolicy,
)
from domain.errors import (
    CallIdTaken as CallIdInUse,
)
from domain.ids import ID_PATTERN
from domain.text import ACTOR_PATTERN, REASON_PATTERN, refused_character
from recaudit.access.errors import (
    ActorMismatch,
    BodyTooLarge,
    CallIdTaken,
    CsrfMissing,
    Forbidden,
    NotVisible,
    Refused,
    Unauthenticated,
)
from recaudit.adapters.integrity.errors import DatabaseUnreachable
from recaudit.core.committer import ConcurrencyExhausted
from recaudit.core.health import StoreUnavailable
from recaudit.core.readmodel import (
    PositionBeyondHead,
    ProjectionBehind,
    ProjectionUnavailable,
    ReadModelError,
    RebuildInProgress,
)
from recaudit.http.jsonbody import JSONResponse


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    headers: dict[str, str] = field(default_factory=dict)


ANSWERS: dict[type[Exception], Answer] = {
    # The domain's refusals: a rule refusal is a conflict with the call's state.
    DomainError: Answer(500, "domain_error"),
    CommandRefused: Answer(409, "command_refused"),
    UnknownCall: Answer(404, "unknown_call"),
    UnknownPolicy: Answer(404, "no_policy"),
    UnknownOverride: Answer(404, "unknown_override"),
    NoPolicy: Answer(409, "no_policy"),
    IdempotencyConflict: Answer(409, "idempotency_conflict"),
    FutureTimestamp: Answer(409, "future_timestamp"),
    PastTimestamp: Answer(409, "past_timestamp"),
    CallIdInUse: Answer(409, "call_id_taken"),
    ConcurrencyExhausted: Answer(503, "busy"),
    # The compliance lifecycle.
    RecordingNotFound: Answer(404, "unknown_recording"),
    RecordingStillOpen: Answer(409, "recording_open"),
    RecordingHeld: Answer(409, "legal_hold"),
    AudioDeleted: Answer(410, "recording_deleted"),
    UnknownHold: Answer(404, "unknown_hold"),
    HoldReleased: Answer(409, "hold_released"),
    RecordingGone: Answer(410, "recording_deleted"),
    DatabaseUnreachable: Answer(503, "integrity_unavailable"),  # sealing a bundle's events
    # The event store and the read models.
    StoreUnavailable: Answer(503, "store_unavailable"),
    ReadModelError: Answer(503, "read_model_error"),
    ProjectionBehind: Answer(503, "projection_behind"),
    # Well-formed, but no event is stored at that position yet (like a future `at`).
    PositionBeyondHead: Answer(409, "position_beyond_head"),
    ProjectionUnavailable: Answer(503, "projection_unavailable"),
    RebuildInProgress: Answer(409, "rebuild_in_progress"),
    # Audio and recordings.
    AudioRefused: Answer(409, "audio_refused"),
    InvalidAudio: Answer(422, "invalid_request"),
    UnsupportedMediaType: Answer(415, "unsupported_media_type"),
    ChunkTooLarge: Answer(413, "chunk_too_large"),
    BacklogFull: Answer(429, "audio_backlog_full", {"Retry-After": "1"}),
    AudioOverlap: Answer(409, "audio_overlap"),
    AudioBeforeCall: Answer(409, "audio_before_call"),
    RateMismatch: Answer(409, "rate_mismatch"),
    CallAudioEnded: Answer(409, "call_ended"),
    FutureAudio: Answer(409, "future_timestamp"),
    UnknownRecording: Answer(404, "unknown_recording"),
    RecordingOpen: Answer(409, "recording_open"),
    RangeNotSatisfiable: Answer(416, "range_not_satisfiable"),
    StoreFailure: Answer(503, "recordings_unavailable"),
    # Access control, before any route runs.
    Refused: Answer(403, "forbidden"),
    Unauthenticated: Answer(401, "unauthenticated"),
    Forbidden: Answer(403, "forbidden"),
    CsrfMissing: Answer(403, "csrf_failed"),
    NotVisible: Answer(404, "unknown_call"),
    CallIdTaken: Answer(409, "call_id_taken"),
    ActorMismatch: Answer(422, "invalid_request"),
    BodyTooLarge: Answer(413, "body_too_large"),
}

CHALLENGE = 'Bearer realm="recaudit"'


def answer_for(exc: Exception) -> Answer:
    """The answer of the nearest class of `exc` that the table names."""
    for cls in type(exc).__mro__:
        found = ANSWERS.get(cls)
        if found is not None:
            return found
    raise LookupError(f"no HTTP answer is defined for {type(exc).__name__}")


def error_response(status: int, code: str, message: str, *,
                   headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The contract's error body: code, message and any extra members (e.g. `fields`)."""
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status,
                        headers=dict(headers) if headers else None)


def answer(exc: Exception) -> JSONResponse:
    """The answer to an error that the table names, with the details the error carries."""
    found = answer_for(exc)
    headers = dict(found.headers)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = (CHALLENGE + ', error="invalid_token"' if exc.invalid
                                       else CHALLENGE)
    if isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    return error_response(found.status, found.code, str(exc), headers=headers,
                          **_details(exc))


def _details(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, AudioRefused):
        return dict(exc.details)
    if isinstance(exc, Refused) and exc.fields is not None:
        return {"fields": list(exc.fields)}
    if isinstance(exc, PositionBeyondHead):
        return {"head": exc.head}
    return {}


async def handle(_request: object, exc: Exception) -> JSONResponse:
    """An exception handler for the web framework (registered for each root in the table)."""
    return answer(exc)


# The roots under which every answered error falls, for registering `handle`.
ROOTS: tuple[type[Exception], ...] = (
    DomainError, StoreUnavailable, ReadModelError, AudioRefused, StoreFailure, Refused,
)


# -- refusals of malformed requests, in our words ---------------------------------------------

ID_WORDS = ("1 to 128 characters out of A-Z a-z 0-9 . _ : @ -, starting with a letter or a "
            "digit")
TEXT_WORDS = "without control characters or bidirectional or invisible formatting characters"
RFC3339 = "an RFC 3339 time with an offset, e.g. 2026-03-01T09:30:00.000Z"
PATTERN_WORDS = {
    ID_PATTERN: f"must be an id: {ID_WORDS}",
    ACTOR_PATTERN: f"must be 1 to 128 characters {TEXT_WORDS}",
    REASON_PATTERN: "must be text without control characters (other than tab and line feed) "
                    "or bidirectional or invisible formatting characters",
}
# What each kind of validation failure says, by the validator's error type.
EXPECTED = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this body",
    "string_type": "must be a string",
    "string_unicode": "must be valid Unicode text",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters long",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "must be a whole number of at least {ge}",
    "less_than_equal": "must be a whole number of at most {le}",
    "literal_error": "must be {expected}",
    "enum": "must be {expected}",
    "datetime_type": f"must be {RFC3339}",
    "datetime_parsing": f"must be {RFC3339}",
    "datetime_from_date_parsing": f"must be {RFC3339}",
    "model_attributes_type": "must be a JSON object, e.g. {\"by\": \"bob\"}",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "json_invalid": "is not valid JSON: expected a JSON object, e.g. {\"by\": \"bob\"}",
}


def validation_problem(err: Mapping[str, Any]) -> tuple[str, str]:
    """The field at fault and what it should be, for one error of the request validator."""
    kind = str(err.get("type", ""))
    loc = [] if kind == "json_invalid" else [  # its loc holds a character offset
        str(p) for p in err.get("loc", ()) if p not in ("body", "path", "query")]
    field = ".".join(loc) or "body"
    ctx = err.get("ctx") or {}
    if kind == "value_error":  # our own validators' words
        return field, re.sub(r"^Value error, ", "", str(err.get("msg", "")))
    if kind == "string_pattern_mismatch":
        return field, _pattern_problem(str(ctx.get("pattern", "")), err.get("input"))
    words = EXPECTED.get(kind, "is not a valid value here")
    if kind == "extra_forbidden" and tuple(err.get("loc", ()))[:1] == ("query",):
        words = "is not a parameter of this request"
    try:
        return field, words.format(**ctx)
    except (KeyError, IndexError):
        return field, words


def _pattern_problem(pattern: str, given: object) -> str:
    words = PATTERN_WORDS.get(pattern, "is not in the expected form")
    found = refused_character(given, pattern) if (
        pattern in (ACTOR_PATTERN, REASON_PATTERN) and isinstance(given, str)) else None
    return f"{words} (found {found})" if found else words


def unreadable_body(cause: BaseException | None) -> str:
    """Why the framework could not read a JSON body at all, and what was expected."""
    if isinstance(cause, RecursionError):
        why = "nests too deeply to be read"
    elif isinstance(cause, UnicodeError):
        why = "is not UTF-8 text"
    else:
        why = "cannot be read"
    return f"{why}: expected a JSON object of plain values, e.g. {{\"by\": \"bob\"}}"
