"""The answers of the API as models, for its OpenAPI document.

The routes build their JSON from the views (`recaudit.core.views`) and the segment store;
these models describe that JSON so that clients (and the fuzz tests, which check every
answer against the document) know each field. Times are RFC 3339 strings in UTC with
milliseconds.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Time = str
MODES = Literal["always_on", "pause_resume", "on_demand", "on_demand_uis"]
STATES = Literal["off", "recording", "paused", "ended"]
PAUSE_BEHAVIORS = Literal["skip", "silence"]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="why the request was refused; see the contract's table")
    message: str = Field(description="what was wrong, in words")
    fields: list[str] | None = Field(None, description="the fields at fault (invalid_request)")
    call: dict[str, Any] | None = Field(
        None, description="the call status after a refusal stored as CommandRejected")


class Error(Answer):
    """Every refusal: `{"error": {"code", "message", ...}}`."""

    error: ErrorDetail


class CallStatus(Answer):
    """A call as it stands right after the request."""

    call_id: str
    org_id: str
    agent_id: str = Field(description="the agent who has the call now (after any transfer)")
    direction: Literal["inbound", "outbound"]
    mode: MODES
    pause_behavior: PAUSE_BEHAVIORS
    policy_version: int
    state: STATES
    indicator: str | None = Field(description="what the agent's client shows (null once ended)")
    actions: list[str] = Field(description="the commands allowed now")
    recording_no: int | None = Field(description="the current or last recording")
    started_at: Time
    ended_at: Time | None
    pause_deadline: Time | None = Field(
        description="when the open pause resumes by itself (null: not paused, or no cap)")
    legal_hold: bool = Field(description="whether an active legal hold covers the call")
    version: int = Field(description="the call stream's version after the request")
    position: int | None = Field(description="the global position of the call's last event")


PAUSE_CAP = Field(description="the longest a pause may last, in ms (null: no cap)")


class Setting(Answer):
    mode: MODES
    pause_behavior: PAUSE_BEHAVIORS
    max_pause_ms: int | None = PAUSE_CAP
    agent_id: str | None
    changed_by: str
    reason: str | None
    at: Time
    version: int


class HistoryEntry(Answer):
    """One change of the policy: a setting, or (`removed`) an agent's override removed."""

    mode: MODES | None
    pause_behavior: PAUSE_BEHAVIORS | None
    max_pause_ms: int | None = PAUSE_CAP
    agent_id: str | None
    changed_by: str
    reason: str | None
    at: Time
    version: int
    removed: bool = Field(False, description="true: the agent's override was removed")


class RetentionChange(Answer):
    audio_days: int | None
    changed_by: str
    reason: str | None
    at: Time
    version: int


class Retention(Answer):
    audio_days: int | None = Field(description="days after its call ended that audio is kept "
                                               "(null: for ever)")
    history: list[RetentionChange]


class Policy(Answer):
    org_id: str
    mode: MODES | None = Field(description="the organisation's own mode (null: none set)")
    pause_behavior: PAUSE_BEHAVIORS | None
    max_pause_ms: int | None = PAUSE_CAP
    version: int = Field(description="the policy stream's version")
    overrides: dict[str, Setting] = Field(description="agent overrides, by agent id")
    history: list[HistoryEntry] = Field(description="every change, in order")
    retention: Retention | None = Field(
        None, description="how long audio is kept after a call ends, with every change")


class Override(Answer):
    """The one agent setting a `PUT /policies/{org_id}/agents/{agent_id}` made."""

    org_id: str
    agent_id: str
    mode: MODES
    pause_behavior: PAUSE_BEHAVIORS
    max_pause_ms: int | None = PAUSE_CAP
    changed_by: str
    reason: str | None
    at: Time
    version: int


class PolicyList(Answer):
    policies: list[Policy]


class Interval(Answer):
    state: Literal["off", "recording", "paused"]
    start: Time
    end: Time | None
    duration_ms: int | None
    recording_no: int | None
    reason: str | None = Field(description="why an off interval is off: not_started, stopped")
    by: str | None = Field(description="who opened the interval (system: automatically); "
                                       "null only for intervals projected before it was kept")


class Totals(Answer):
    recording_ms: int
    paused_ms: int
    off_ms: int


class Rejected(Answer):
    command: str
    at: Time
    code: str
    by: str


class Holding(Answer):
    """One agent's span of having the call (`end` null: it has the call now)."""

    agent_id: str
    start: Time
    end: Time | None


class Timeline(Answer):
    """The call's recording timeline, read from the projection."""

    call_id: str
    org_id: str
    agent_id: str = Field(description="the agent who has the call now (or had it at the end)")
    mode: MODES
    started_at: Time
    ended_at: Time | None
    intervals: list[Interval]
    totals: Totals
    rejected: list[Rejected]
    agents: list[Holding] = Field(description="who had the call when: contiguous spans from "
                                              "the start to the end, one per holder, in order")


class CallSummary(Answer):
    call_id: str
    org_id: str
    agent_id: str
    mode: MODES
    state: STATES
    started_at: Time
    ended_at: Time | None
    duration_ms: int | None = Field(description="null while the call runs")
    recording_ms: int = Field(description="closed intervals only, as in the timeline totals")
    paused_ms: int
    off_ms: int
    refusals: int
    longest_pause_ms: int
    legal_hold: bool = Field(description="whether an active legal hold covers the call")


class CallList(Answer):
    """A page of call summaries, newest first."""

    calls: list[CallSummary]
    next: str | None = Field(description="pass as `after` for the next page; null: last page")


class Span(Answer):
    start: Time
    end: Time | None
    duration_ms: int | None
    samples: int | None = None
    missing_samples: int | None = None


class Pause(Answer):
    start: Time
    end: Time | None
    duration_ms: int | None


class Manifest(Answer):
    """A recording's manifest; sizes and the hash are set once it is closed."""

    call_id: str
    org_id: str
    recording_no: int
    state: Literal["open", "closed", "deleted"]
    deleted_at: Time | None = Field(None, description="when the audio was deleted")
    deleted_by: str | None = None
    deleted_reason: Literal["retention", "erasure"] | None = None
    deleted_note: str | None = Field(None, description="why it was erased, in words")
    start: Time
    end: Time | None
    closed_by: Literal["RecordingStopped", "CallEnded"] | None
    pause_behavior: PAUSE_BEHAVIORS
    rate: int | None
    audio: Literal["complete", "partial", "none"] | None = Field(
        description="how much of the recorded time's audio arrived (null while open)")
    segments: list[Span]
    pauses: list[Pause]
    duration_ms: int | None
    recorded_ms: int
    paused_ms: int
    samples: int | None
    missing_samples: int | None
    bytes: int | None
    sha256: str | None


class ChunkAccepted(Answer):
    call_id: str
    start: Time = Field(description="the time of the first sample, on the sample grid")
    samples: int
    rate: int
    duplicate: bool = Field(description="an exact repeat of a chunk already received")


class RebuildReport(Answer):
    events: int
    position: int
    seconds: float
    events_per_second: int
    swap_ms: float
    tables: list[str]


class Health(Answer):
    status: Literal["ok"]
    position: int = Field(description="the position of the latest stored event")


class AnalyticsResult(Answer):
    """The rows of an analyst query, each a JSON object named by the query's columns."""

    query: str
    title: str
    parameters: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]


class RecordingRef(Answer):
    call_id: str
    recording_no: int


class RetentionReport(Answer):
    checked: int = Field(description="recordings past retention that were looked at")
    deleted: list[RecordingRef] = Field(description="deleted now (a dry run: would be)")
    kept_for_hold: list[RecordingRef] = Field(description="kept: under legal hold")
    pending: list[RecordingRef] = Field(description="left for the next run: the segment "
                                                    "store is still writing their audio")
    dry_run: bool


class Hold(Answer):
    hold_id: str
    org_id: str
    call_id: str | None
    agent_id: str | None
    case: str
    reason: str | None
    placed_by: str
    placed_at: Time
    released_by: str | None
    released_at: Time | None
    release_reason: str | None
    active: bool


class Access(Answer):
    what: Literal["timeline", "recordings", "audio", "evidence"]
    recording_no: int | None
    by: str = Field(description="the token's name (loopback without access control)")
    role: str | None
    at: Time
    version: int = Field(description="the read's place in the call's access log")
