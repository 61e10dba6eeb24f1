"""The published language: the events downstream services receive.

Stored domain events are an internal detail (their classes, their library
fields). What leaves the event store is a `PublishedEvent`: a type name from
the contract, its place in the global order, the stream key (the call id, or
the org id for policy events), the stream version and the contract's fields.
The Kafka relay, the local feed and every consumer speak only this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import to_utc_millis
from domain.rules import CallState

CALL_EVENT_TYPES = (
    "CallStarted",
    "RecordingStarted",
    "RecordingPaused",
    "RecordingResumed",
    "RecordingStopped",
    "CallEnded",
    "CommandRejected",
    "CallTransferred",
    "RecordingDeleted",
)
# Policy events (the organisation's stream: modes, retention, legal holds) are keyed by
# their organisation, call events by their call. Access events are keyed by their call too,
# but come from the call's access log, a stream of its own with its own versions.
POLICY_EVENT_TYPES = (
    "PolicySet", "PolicyOverrideRemoved", "RetentionSet", "LegalHoldPlaced",
    "LegalHoldReleased",
)
ACCESS_EVENT_TYPES = ("RecordAccessed",)
EVENT_TYPES = (*POLICY_EVENT_TYPES, *CALL_EVENT_TYPES, *ACCESS_EVENT_TYPES)

# Stored topic -> published type. Topics not listed (PolicyCreated, AccessLogOpened) stay
# inside.
TOPIC_TYPES = {f"recaudit.call.{name}": name for name in CALL_EVENT_TYPES} | {
    "recaudit.policy.PolicySet": "PolicySet",
    "recaudit.policy.OverrideRemoved": "PolicyOverrideRemoved",
    "recaudit.policy.RetentionSet": "RetentionSet",
    "recaudit.policy.LegalHoldPlaced": "LegalHoldPlaced",
    "recaudit.policy.LegalHoldReleased": "LegalHoldReleased",
    "recaudit.access.RecordAccessed": "RecordAccessed",
}

# The state each call event leaves its call in: the one table the call aggregate, the
# projections and the segment store read. Not listed: CallStarted (the state a call starts
# in depends on its mode, see `rules.initial_state`; one that records from the start is
# moved by the automatic RecordingStarted saved with it), CommandRejected (a refusal
# changes no state) and CallTransferred (it changes only who has the call). Whether an
# `off` left by RecordingStopped says `stopped` rather than `not_started` follows from the
# call's recording number, not from this table.
STATE_AFTER: dict[str, CallState] = {
    "RecordingStarted": CallState.RECORDING,
    "RecordingPaused": CallState.PAUSED,
    "RecordingResumed": CallState.RECORDING,
    "RecordingStopped": CallState.OFF,
    "CallEnded": CallState.ENDED,
}

# The contract's fields of each type, beyond the envelope (position, key, version, recorded_at).
FIELDS: dict[str, tuple[str, ...]] = {
    "PolicySet": (
        "org_id", "agent_id", "mode", "pause_behavior", "changed_by", "reason", "at",
        "max_pause_ms",
    ),
    "PolicyOverrideRemoved": ("org_id", "agent_id", "changed_by", "reason", "at"),
    "CallStarted": (
        "call_id", "org_id", "agent_id", "direction", "mode", "policy_version",
        "pause_behavior", "at", "by", "command_id", "max_pause_ms",
    ),
    "RecordingStarted": (
        "call_id", "org_id", "recording_no", "automatic", "at", "by", "command_id",
    ),
    "RecordingPaused": ("call_id", "org_id", "recording_no", "at", "by", "command_id"),
    "RecordingResumed": (
        "call_id", "org_id", "recording_no", "at", "by", "command_id", "automatic",
    ),
    "RecordingStopped": ("call_id", "org_id", "recording_no", "at", "by", "command_id"),
    "CallEnded": ("call_id", "org_id", "recording_no", "state_before", "at", "by", "command_id"),
    "CommandRejected": (
        "call_id", "org_id", "command", "code", "state", "at", "by", "command_id", "received_at",
    ),
    "CallTransferred": (
        "call_id", "org_id", "from_agent_id", "to_agent_id", "at", "by", "command_id",
    ),
    "RecordingDeleted": (
        "call_id", "org_id", "recording_no", "reason", "note", "sha256", "at", "by",
    ),
    "RetentionSet": ("org_id", "audio_days", "changed_by", "reason", "at"),
    "LegalHoldPlaced": (
        "hold_id", "org_id", "call_id", "agent_id", "case", "by", "reason", "at",
    ),
    "LegalHoldReleased": ("hold_id", "org_id", "by", "reason", "at"),
    "RecordAccessed": ("call_id", "org_id", "what", "recording_no", "by", "role", "at"),
}


def is_policy_type(type_name: str) -> bool:
    """Whether events of this type belong to an organisation's policy (not to a call)."""
    return type_name in POLICY_EVENT_TYPES


def is_access_type(type_name: str) -> bool:
    """Whether events of this type belong to a call's access log (not to the call itself:
    their versions are the log's, and they never move the call)."""
    return type_name in ACCESS_EVENT_TYPES


def stream_kind(type_name: str) -> str:
    """Which kind of stream events of this type come from: policy, call or access."""
    if is_policy_type(type_name):
        return "policy"
    return "access" if is_access_type(type_name) else "call"


@dataclass(frozen=True)
class PublishedEvent:
    type: str
    position: int
    key: str
    version: int
    recorded_at: datetime
    fields: dict[str, Any]

    @property
    def at(self) -> datetime:
        at: datetime = self.fields["at"]
        return at


def publish(topic: str, event: Any, position: int) -> PublishedEvent | None:
    """The published form of one stored domain event, or None if it stays inside."""
    return publish_state(topic, vars(event), event.originator_version, position)


def publish_state(topic: str, state: Mapping[str, Any], version: int,
                  position: int) -> PublishedEvent | None:
    """The published form of a stored event given by its state (its attributes by name,
    the library's `timestamp` among them) and version, or None if it stays inside."""
    type_name = TOPIC_TYPES.get(topic)
    if type_name is None:
        return None
    fields = {name: state[name] for name in FIELDS[type_name]}
    key = fields["org_id"] if is_policy_type(type_name) else fields["call_id"]
    return PublishedEvent(
        type=type_name,
        position=position,
        key=key,
        version=version,
        recorded_at=to_utc_millis(state["timestamp"]),
        fields=fields,
    )
