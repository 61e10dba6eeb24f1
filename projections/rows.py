"""The `events` table row of a published event: every contract field as a typed column."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.published import PublishedEvent, stream_kind
from projections.callstate import CallProjection
from projections.utc import to_millis

EVENT_COLUMNS = (
    "position", "type", "stream", "key", "version", "recorded_at", "at", "call_id", "org_id",
    "agent_id", "direction", "mode", "policy_version", "pause_behavior", "recording_no",
    "automatic", "state_before", "command", "code", "state", "by", "command_id",
    "changed_by", "reason", "received_at", "from_agent_id", "to_agent_id", "max_pause_ms",
    "sha256", "audio_days", "hold_id", "case", "what", "role", "note",
)


def event_row(event: PublishedEvent, call: CallProjection | None) -> tuple[Any, ...]:
    """The row of `event`; call events also carry their call's agent and mode, for analysts."""
    f = event.fields
    get = f.get
    stream = stream_kind(event.type)
    if stream != "call":
        agent, mode = get("agent_id"), get("mode")
    elif call is not None:
        agent, mode = call.agent_id, call.mode
    else:
        agent, mode = get("agent_id"), get("mode")
    return (
        event.position, event.type, stream, event.key, event.version,
        to_millis(event.recorded_at), to_millis(f["at"]), get("call_id"), f["org_id"],
        agent, get("direction"), mode, get("policy_version"), get("pause_behavior"),
        get("recording_no"), get("automatic"), get("state_before"), get("command"),
        get("code"), get("state"), get("by"), get("command_id"), get("changed_by"),
        get("reason"), _optional_millis(get("received_at")), get("from_agent_id"),
        get("to_agent_id"), get("max_pause_ms"), get("sha256"), get("audio_days"),
        get("hold_id"), get("case"), get("what"), get("role"), get("note"),
    )


def _optional_millis(at: datetime | None) -> int | None:
    return None if at is None else to_millis(at)
