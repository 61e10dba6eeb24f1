"""The HTTP API: the contract's routes, bodies and error shape, over the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException

from domain.clock import to_utc_millis
from domain.ids import ID_PATTERN
from domain.lifecycle import ReadKind
from domain.rules import (
    CALL_COMMANDS,
    MAX_PAUSE_CAP_MS,
    MIN_PAUSE_CAP_MS,
    Command,
    Mode,
    PauseBehavior,
    Refusal,
)
from domain.text import ACTOR_PATTERN, REASON_PATTERN
from recaudit import __version__
from recaudit.core.health import StoreUnavailable
from recaudit.core.readmodel import TimelineReader
from recaudit.core.service import CallResult, DomainTimelineReader, RecordingService
from recaudit.core.views import setting_json
from recaudit.http import errors, models
from recaudit.http.docs import ASSETS, DOCS, install_docs
from recaudit.http.errors import error_response
from recaudit.http.failfast import FailFast
from recaudit.http.fastpath import CommandFastPath
from recaudit.http.jsonbody import JSONResponse
from recaudit.http.reads import ReadLog
from recaudit.http.routes import COMMAND_PATHS

Id = Annotated[str, Field(pattern=ID_PATTERN, description="1-128 of A-Z a-z 0-9 . _ : @ -")]
# Free text is stored and shown in timelines and terminals: no control characters (a reason
# may hold tabs and line breaks), no bidirectional or invisible formatting (domain/text.py).
Actor = Annotated[str, Field(min_length=1, max_length=128, pattern=ACTOR_PATTERN,
                             description="1-128 characters, no control, bidirectional or "
                                         "invisible formatting characters")]
Reason = Annotated[str, Field(max_length=1000, pattern=REASON_PATTERN,
                              description="up to 1000 characters, no control characters "
                                          "but tab and line feed, no bidirectional or "
                                          "invisible formatting characters")]

PauseCap = Annotated[int, Field(strict=True, ge=MIN_PAUSE_CAP_MS, le=MAX_PAUSE_CAP_MS,
                                description="the longest a pause may last, in milliseconds; "
                                            "it then resumes by itself")]


def _text_time(at: object) -> object:
    """A client time must be an RFC 3339 string: numbers are not read as epoch seconds."""
    if at is not None and not isinstance(at, str | datetime):
        raise ValueError("timestamp must be an RFC 3339 string, e.g. 2026-03-01T09:30:00.000Z")
    return at


# The earliest client time accepted (the stores keep times as milliseconds since then).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def in_range(at: datetime) -> str | None:
    """Why an offset-carrying `at` cannot be stored, or None if it can."""
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        return "timestamp is out of range once converted to UTC"
    if utc < EARLIEST:
        return "timestamp must not be earlier than 1970-01-01T00:00:00.000Z"
    return None


def _aware(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("timestamp must carry an offset, e.g. 2026-03-01T09:30:00.000Z")
    problem = in_range(at)
    if problem is not None:
        raise ValueError(problem)
    return to_utc_millis(at)


CallIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
OrgIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
AgentIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
Timestamp = Annotated[datetime | None, BeforeValidator(_text_time), AfterValidator(_aware)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyBody(Strict):
    mode: Mode
    changed_by: Actor
    reason: Reason | None = None
    pause_behavior: PauseBehavior = PauseBehavior.SKIP
    max_pause_ms: PauseCap | None = None


class RemovalBody(Strict):
    changed_by: Actor
    reason: Reason | None = None


class StartCallBody(Strict):
    call_id: Id
    org_id: Id
    agent_id: Id
    direction: Literal["inbound", "outbound"]
    at: Timestamp = None
    command_id: Id | None = None


class CommandBody(Strict):
    by: Actor
    at: Timestamp = None
    command_id: Id | None = None


class TransferBody(CommandBody):
    to_agent_id: Id


def call_response(result: CallResult, success: int = 200,
                  command: Command | None = None) -> JSONResponse:
    body = result.status.to_json(result.position)
    if result.refusal is not None:
        return error_response(409, result.refusal.value, refusal_message(result, command),
                              call=body)
    return JSONResponse(body, success)


def refusal_message(result: CallResult, command: Command | None = None) -> str:
    status = result.status
    if command is Command.TRANSFER and result.refusal is Refusal.INVALID_STATE:
        return f"the call is already with agent {status.agent_id!r}; transfer it to another"
    return {
        "call_ended": "the call has ended; no further commands are accepted",
        "not_permitted": f"the call's mode {status.mode.value} never allows this command",
        "invalid_state": f"this command is not allowed while the call is {status.state.value}",
        "out_of_order": "the command's timestamp is earlier than the call's last event",
        "future_timestamp": "the command's timestamp is later than the server clock allows",
        "past_timestamp": "the command's timestamp is further back than the server allows "
        "(RECAUDIT_MAX_BACKDATE_MS behind its clock)",
        "too_late": "the call's audio is already decided past the command's timestamp "
        "(the command came later than the audio lateness bound allows)",
    }[result.refusal.value if result.refusal else ""]


MinPosition = Annotated[
    int | None,
    Query(ge=0, description="wait (up to a few seconds) until the projection has applied "
                            "this position, e.g. the `position` of a call status; one beyond "
                            "the event store's head is 409 position_beyond_head"),
]


# Served even while the event store is down: they do not touch it (or say it is down).
ALWAYS_SERVED = frozenset({"/health", "/openapi.json", DOCS})


def always_served(path: str) -> bool:
    return path in ALWAYS_SERVED or path.startswith(ASSETS + "/")


def create_app(service: RecordingService, timelines: TimelineReader | None = None,
               reads: ReadLog | None = None) -> FastAPI:
    """The API; timelines come from `timelines` (default: replayed from the event store);
    `reads` records each read of a timeline in its call's access log."""
    reader = timelines or DomainTimelineReader(service)
    app = FastAPI(
        title="recaudit",
        version=__version__,
        description=DESCRIPTION,
        responses=REFUSALS,
        docs_url=None,  # served from packaged assets, see recaudit.http.docs
        redoc_url=None,
    )
    install_docs(app)
    _install_error_handlers(app)
    _document_errors(app)
    app.state.health = service.health

    # Innermost, so the gate, the console's headers and the fail-fast check apply first.
    app.add_middleware(CommandFastPath, service=service, respond=call_response)
    app.add_middleware(FailFast, health=service.health, always_served=always_served)

    @app.put("/policies/{org_id}", response_model=models.Policy, tags=["policies"])
    def put_policy(org_id: OrgIdPath, body: PolicyBody) -> JSONResponse:
        """Set the organisation's recording mode; calls already running keep theirs."""
        result = service.set_policy(
            org_id,
            mode=body.mode,
            changed_by=body.changed_by,
            reason=body.reason,
            pause_behavior=body.pause_behavior,
            max_pause_ms=body.max_pause_ms,
        )
        return JSONResponse(result.policy.to_json())

    @app.put("/policies/{org_id}/agents/{agent_id}", response_model=models.Override,
             tags=["policies"])
    def put_override(
        org_id: OrgIdPath, agent_id: AgentIdPath, body: PolicyBody
    ) -> JSONResponse:
        """Set one agent's override of the organisation's mode."""
        result = service.set_policy(
            org_id,
            mode=body.mode,
            changed_by=body.changed_by,
            reason=body.reason,
            pause_behavior=body.pause_behavior,
            agent_id=agent_id,
            max_pause_ms=body.max_pause_ms,
        )
        return JSONResponse(
            {"org_id": org_id, "agent_id": agent_id, **setting_json(result.setting)}
            | {"version": result.policy.version}
        )

    @app.delete("/policies/{org_id}/agents/{agent_id}", response_model=models.Policy,
                tags=["policies"])
    def delete_override(org_id: OrgIdPath, agent_id: AgentIdPath,
                        body: RemovalBody) -> JSONResponse:
        """Remove one agent's override: its next calls take the organisation's mode
        (calls already running keep theirs). The removal is recorded in the history."""
        policy = service.remove_override(org_id, agent_id, changed_by=body.changed_by,
                                         reason=body.reason)
        return JSONResponse(policy.to_json())

    @app.get("/policies/{org_id}", response_model=models.Policy, tags=["policies"])
    def get_policy(org_id: OrgIdPath) -> JSONResponse:
        """The organisation's policy: its mode, the agents' overrides and every change."""
        return JSONResponse(service.policy(org_id).to_json())

    @app.post("/calls", status_code=201, response_model=models.CallStatus, tags=["calls"])
    def start_call(body: StartCallBody) -> JSONResponse:
        """Start a call in the mode its agent's policy gives it."""
        result = service.start_call(
            call_id=body.call_id,
            org_id=body.org_id,
            agent_id=body.agent_id,
            direction=body.direction,
            at=body.at,
            command_id=body.command_id,
        )
        return call_response(result, success=201)

    def command_route(command: Command, path: str) -> None:
        def handler(call_id: CallIdPath, body: Annotated[CommandBody, Body()]) -> JSONResponse:
            result = service.command(
                call_id, command, by=body.by, at=body.at, command_id=body.command_id
            )
            return call_response(result)

        handler.__name__ = "end_call" if command is Command.END else f"{command.value}_recording"
        handler.__doc__ = COMMAND_DOCS[command]
        app.post(path, response_model=models.CallStatus, tags=["calls"])(handler)

    for command in CALL_COMMANDS:
        command_route(command, COMMAND_PATHS[command])

    @app.post(COMMAND_PATHS[Command.TRANSFER], response_model=models.CallStatus, tags=["calls"])
    def transfer_call(call_id: CallIdPath, body: TransferBody) -> JSONResponse:
        """Hand the call to another agent: its mode, state, recording and any open pause
        stay as they are; only who has it changes."""
        result = service.transfer(call_id, to_agent_id=body.to_agent_id, by=body.by,
                                  at=body.at, command_id=body.command_id)
        return call_response(result, command=Command.TRANSFER)

    @app.get("/calls/{call_id}", response_model=models.CallStatus, tags=["calls"])
    def get_call(call_id: CallIdPath) -> JSONResponse:
        """The call as it stands now."""
        return call_response(service.call(call_id))

    @app.get("/calls/{call_id}/timeline", response_model=models.Timeline, tags=["calls"])
    def get_timeline(request: Request, call_id: CallIdPath,
                     min_position: MinPosition = None) -> JSONResponse:
        """The call's recording timeline: intervals, totals and refused commands."""
        document = reader.timeline(call_id, min_position).to_json()
        if reads is not None:
            reads.record(request, call_id, ReadKind.TIMELINE)
        return JSONResponse(document)

    @app.get("/health", response_model=models.Health, tags=["health"])
    def health() -> JSONResponse:
        """Liveness, and the position of the latest stored event."""
        if service.health.is_down:
            return errors.answer(StoreUnavailable(service.health.last_error))
        return JSONResponse({"status": "ok", "position": service.store.head()})

    return app


DESCRIPTION = """Event-sourced audit backend for call recording.

Every refusal answers `{"error": {"code", "message"}}`; the codes are listed in the
contract. With access control on, send `Authorization: Bearer <token>`.
"""

# Every route may refuse: the error shape, for the 4xx and 5xx answers of every route.
REFUSALS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": models.Error, "description": "refused; the code says why"},
    "5XX": {"model": models.Error, "description": "unavailable; the code says why, retry"},
}

COMMAND_DOCS = {
    Command.START: "Start a recording (a new one, numbered after the last).",
    Command.PAUSE: "Pause the open recording.",
    Command.RESUME: "Resume the paused recording.",
    Command.STOP: "Stop the open recording (on_demand_uis only).",
    Command.END: "End the call, closing any open recording.",
}


def _document_errors(app: FastAPI) -> None:
    """Describe refusals by the contract's error shape only in the OpenAPI document (the
    framework would describe its own validation errors as 422 answers of another shape)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation.setdefault("responses", {}).pop("422", None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    for root in errors.ROOTS:
        app.add_exception_handler(root, errors.handle)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [errors.validation_problem(e) for e in exc.errors()]
        fields = [p[0] for p in problems]
        message = "; ".join(f"{f}: {m}" for f, m in problems)
        return error_response(422, "invalid_request", message, fields=fields)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        status, code, message, extra = _http_problem(request, exc)
        return error_response(status, code, message, headers=exc.headers, **extra)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def store_down(request: Request, exc: Exception) -> JSONResponse:
        request.app.state.health.mark_down(exc)
        return errors.answer(StoreUnavailable(exc))


def _http_problem(request: Request,
                  exc: HTTPException) -> tuple[int, str, str, dict[str, Any]]:
    """The framework's own refusals (no such route, a body it cannot parse), as status,
    code, message and extra fields of the error shape. A body it cannot read (too deeply
    nested, not UTF-8) is refused like every other malformed body."""
    method, path = request.method, request.url.path
    status = exc.status_code
    if status == 404:
        return status, "not_found", f"no route answers {method} {path}", {}
    if status == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return (status, "method_not_allowed",
                f"{method} is not allowed on {path} (allowed: {allowed})", {})
    if status == 400:
        message = f"body: {errors.unreadable_body(exc.__cause__)}"
        return 422, "invalid_request", message, {"fields": ["body"]}
    return status, "http_error", str(exc.detail), {}
