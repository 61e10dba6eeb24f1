"""The one place where errors become HTTP answers.

Every package raises errors that say what went wrong; only this module knows which
status and code each is answered with (`ANSWERS`, looked up along the error's class
hierarchy, most specific first), and `error_response` is the one builder of the
contract's error body `{"error": {"code", "message", ...}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse

from consumers.segments.errors import (
    AudioOverlap,
    AudioRefused,
    BacklogFull,
    CallAudioEnded,
    ChunkTooLarge,
    FutureAudio,
    InvalidAudio,
    RateMismatch,
    StoreFailure,
    UnknownRecording,
    UnsupportedMediaType,
)
from domain.errors import (
    CommandRefused,
    DomainError,
    FutureTimestamp,
    IdempotencyConflict,
    NoPolicy,
    UnknownCall,
    UnknownOverride,
    UnknownPolicy,
)
from recaudit.access.errors import (
    ActorMismatch,
    BodyTooLarge,
    CallIdTaken,
    Forbidden,
    NotVisible,
    Refused,
    Unauthenticated,
)
from recaudit.core.committer import ConcurrencyExhausted
from recaudit.core.health import StoreUnavailable
from recaudit.core.readmodel import (
    ProjectionBehind,
    ProjectionUnavailable,
    ReadModelError,
    RebuildInProgress,
)


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
    ConcurrencyExhausted: Answer(503, "busy"),
    # The event store and the read models.
    StoreUnavailable: Answer(503, "store_unavailable"),
    ReadModelError: Answer(503, "read_model_error"),
    ProjectionBehind: Answer(503, "projection_behind"),
    ProjectionUnavailable: Answer(503, "projection_unavailable"),
    RebuildInProgress: Answer(409, "rebuild_in_progress"),
    # Audio and recordings.
    AudioRefused: Answer(409, "audio_refused"),
    InvalidAudio: Answer(422, "invalid_request"),
    UnsupportedMediaType: Answer(415, "unsupported_media_type"),
    ChunkTooLarge: Answer(413, "chunk_too_large"),
    BacklogFull: Answer(429, "audio_backlog_full", {"Retry-After": "1"}),
    AudioOverlap: Answer(409, "audio_overlap"),
    RateMismatch: Answer(409, "rate_mismatch"),
    CallAudioEnded: Answer(409, "call_ended"),
    FutureAudio: Answer(409, "future_timestamp"),
    UnknownRecording: Answer(404, "unknown_recording"),
    StoreFailure: Answer(503, "recordings_unavailable"),
    # Access control, before any route runs.
    Refused: Answer(403, "forbidden"),
    Unauthenticated: Answer(401, "unauthenticated"),
    Forbidden: Answer(403, "forbidden"),
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
    return error_response(found.status, found.code, str(exc), headers=headers,
                          **_details(exc))


def _details(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, AudioRefused):
        return dict(exc.details)
    if isinstance(exc, Refused) and exc.fields is not None:
        return {"fields": list(exc.fields)}
    return {}


async def handle(_request: object, exc: Exception) -> JSONResponse:
    """An exception handler for the web framework (registered for each root in the table)."""
    return answer(exc)


# The roots under which every answered error falls, for registering `handle`.
ROOTS: tuple[type[Exception], ...] = (
    DomainError, StoreUnavailable, ReadModelError, AudioRefused, StoreFailure, Refused,
)
