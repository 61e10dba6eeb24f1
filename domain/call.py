"""The call aggregate: one stream of events per call.

A command either moves the call (one event, or two when a call starts
recording by itself) or is refused; a refusal on an existing call is stored
as a `CommandRejected` event that changes no state, so the attempt is part of
the audit trail. Commands carry a client `command_id`; repeating one returns
the first outcome and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from domain.errors import IdempotencyConflict, RecordingNotFound, RecordingStillOpen
from domain.ids import call_stream_id
from domain.lifecycle import DELETE_COMMAND, LEGAL_HOLD, Deletion, DeletionReason
from domain.published import STATE_AFTER, TOPIC_TYPES
from domain.rules import (
    CallState,
    Command,
    Mode,
    PauseBehavior,
    Refusal,
    initial_state,
    rule_refusal,
    transfer_refusal,
)
from domain.stream import StreamAggregate
from domain.timeline import SYSTEM, Rejection, Timeline, opened_by

RULE_CODES = frozenset(refusal.value for refusal in Refusal)


@dataclass(frozen=True)
class Outcome:
    """What a command came to: the version it produced and its refusal code, if any."""

    version: int
    refusal: Refusal | None
    replayed: bool = False


@dataclass(frozen=True)
class CommandRequest:
    command: Command
    at: datetime
    by: str
    command_id: str | None
    fingerprint: str
    at_given: bool = True
    to_agent_id: str | None = None  # a transfer's new agent


def pause_deadline(paused_at: datetime, max_pause_ms: int | None) -> datetime | None:
    """When a pause begun at `paused_at` ends by itself (None: no cap)."""
    return None if max_pause_ms is None else paused_at + timedelta(milliseconds=max_pause_ms)


def clock_refusal(
    at: datetime, now: datetime, skew: timedelta, backdate: timedelta | None
) -> Refusal | None:
    """Whether a client `at` is too far from the server clock: ahead of it by more than
    `skew`, or behind it by more than `backdate` (None: no bound)."""
    if at > now + skew:
        return Refusal.FUTURE_TIMESTAMP
    if backdate is not None and at < now - backdate:
        return Refusal.PAST_TIMESTAMP
    return None


def time_refusal(
    at: datetime,
    last_at: datetime,
    now: datetime,
    skew: timedelta,
    backdate: timedelta | None = None,
) -> Refusal | None:
    if at < last_at:
        return Refusal.OUT_OF_ORDER
    return clock_refusal(at, now, skew, backdate)


class CallEvent(Aggregate.Event):
    # Set by each event class: `published.TOPIC_TYPES` gives its published type, and
    # `published.STATE_AFTER` the state that type leaves the call in.
    TOPIC: ClassVar[str]
    call_id: str
    org_id: str
    at: datetime
    by: str
    command_id: str | None
    fingerprint: str


class Call(StreamAggregate):
    TOPIC = "recaudit.call.Call"

    class Created(Aggregate.Created):
        """Published as `CallStarted`. `max_pause_ms`: the pause cap the call keeps (None:
        no cap; also for calls stored before caps existed)."""

        TOPIC = "recaudit.call.CallStarted"
        class_version = 2
        call_id: str
        org_id: str
        agent_id: str
        direction: str
        mode: str
        policy_version: int
        pause_behavior: str
        at: datetime
        by: str
        command_id: str | None
        fingerprint: str
        max_pause_ms: int | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["max_pause_ms"] = None

    class RecordingStarted(CallEvent):
        TOPIC = "recaudit.call.RecordingStarted"
        recording_no: int
        automatic: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.recording_no = self.recording_no
            aggregate._move(self)

    class RecordingPaused(CallEvent):
        TOPIC = "recaudit.call.RecordingPaused"
        recording_no: int

        def apply(self, aggregate: Any) -> None:
            aggregate.paused_at = self.at
            aggregate._move(self)

    class RecordingResumed(CallEvent):
        """`automatic`: a capped pause that ended by itself (`by` is "system")."""

        TOPIC = "recaudit.call.RecordingResumed"
        class_version = 2
        recording_no: int
        automatic: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["automatic"] = False

        def apply(self, aggregate: Any) -> None:
            aggregate._move(self)

    class RecordingStopped(CallEvent):
        TOPIC = "recaudit.call.RecordingStopped"
        recording_no: int

        def apply(self, aggregate: Any) -> None:
            aggregate._move(self)

    class CallEnded(CallEvent):
        TOPIC = "recaudit.call.CallEnded"
        recording_no: int | None
        state_before: str

        def apply(self, aggregate: Any) -> None:
            aggregate.ended_at = self.at
            aggregate._move(self)

    class CallTransferred(CallEvent):
        """The call passed to another agent; its mode, state and recording stay as they are."""

        TOPIC = "recaudit.call.CallTransferred"
        from_agent_id: str
        to_agent_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.agent_id = self.to_agent_id
            aggregate.last_at = self.at
            aggregate.timeline.hand_to(self.to_agent_id, self.at)
            aggregate._remember(self, None)

    class CommandRejected(CallEvent):
        """`at` is the time the command claimed; `received_at` the server clock when it
        was refused (None for refusals stored before it was kept)."""

        TOPIC = "recaudit.call.CommandRejected"
        class_version = 2
        command: str
        code: str
        state: str
        received_at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["received_at"] = None

        def apply(self, aggregate: Any) -> None:
            aggregate.rejections += 1
            aggregate.timeline.reject(
                Rejection(self.command, self.at, self.code, self.by)
            )
            # A refused deletion (legal_hold) is not a recording rule and has no command_id.
            rule = Refusal(self.code) if self.code in RULE_CODES else None
            aggregate._remember(self, rule)

    class RecordingDeleted(CallEvent):
        """A recording's audio was deleted (by retention or on request); `sha256` is the
        digest of the audio file deleted (None: no file was ever written); `note` the reason
        given in words (an erasure's; None for retention)."""

        TOPIC = "recaudit.call.RecordingDeleted"
        recording_no: int
        reason: str
        sha256: str | None
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.deleted[self.recording_no] = Deletion(
                recording_no=self.recording_no, reason=DeletionReason(self.reason),
                by=self.by, at=self.at, sha256=self.sha256, note=self.note,
            )

    def __init__(
        self,
        *,
        call_id: str,
        org_id: str,
        agent_id: str,
        direction: str,
        mode: str,
        policy_version: int,
        pause_behavior: str,
        at: datetime,
        by: str,
        command_id: str | None,
        fingerprint: str,
        max_pause_ms: int | None = None,
    ) -> None:
        self.call_id = call_id
        self.org_id = org_id
        self.agent_id = agent_id
        self.direction = direction
        self.mode = Mode(mode)
        self.policy_version = policy_version
        self.pause_behavior = PauseBehavior(pause_behavior)
        self.max_pause_ms = max_pause_ms
        self.paused_at: datetime | None = None
        self.started_at = at
        self.ended_at: datetime | None = None
        self.last_at = at
        self.recording_no = 0
        self.rejections = 0
        self.deleted: dict[int, Deletion] = {}
        self.commands: dict[str, tuple[str, Outcome]] = {}
        self.timeline = Timeline()
        self.timeline.hand_to(agent_id, at)
        # A call that records from the start is moved by the automatic
        # RecordingStarted saved with this event, so it never shows as off.
        self.state = CallState.OFF
        if initial_state(self.mode) is CallState.OFF:
            self.timeline.open(CallState.OFF, at, None, by)
        if command_id is not None:
            # Start call is answered after the automatic RecordingStarted (version 2), if any.
            answered = 1 if initial_state(self.mode) is CallState.OFF else 2
            self.commands[command_id] = (fingerprint, Outcome(answered, None))

    # -- construction ---------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        call_id: str,
        org_id: str,
        agent_id: str,
        direction: str,
        mode: Mode,
        policy_version: int,
        pause_behavior: PauseBehavior,
        request: CommandRequest,
        max_pause_ms: int | None = None,
    ) -> Call:
        call = cls._create(
            cls.Created,
            id=call_stream_id(call_id),
            call_id=call_id,
            org_id=org_id,
            agent_id=agent_id,
            direction=direction,
            mode=mode.value,
            policy_version=policy_version,
            pause_behavior=pause_behavior.value,
            at=request.at,
            by=request.by,
            command_id=request.command_id,
            fingerprint=request.fingerprint,
            max_pause_ms=max_pause_ms,
        )
        if initial_state(mode) is CallState.RECORDING:
            call.trigger_event(
                cls.RecordingStarted,
                call_id=call_id,
                org_id=org_id,
                at=request.at,
                by=request.by,
                command_id=None,
                fingerprint="",
                recording_no=1,
                automatic=True,
            )
        return call

    # -- commands -------------------------------------------------------------

    def handle(
        self,
        request: CommandRequest,
        now: datetime,
        skew: timedelta,
        decided_until: datetime | None = None,
        backdate: timedelta | None = None,
    ) -> Outcome:
        """Apply a command, or record why it was refused. Never raises for a rule.

        `decided_until`: the call's audio is decided up to this instant, so a
        command dated before it is refused `too_late` (when no other rule applies).
        `backdate`: how far behind `now` a client `at` may be (None: no bound).
        """
        replay = self._replay(request)
        if replay is not None:
            return replay
        # A capped pause that ended before the command's time ended first (never later than
        # the clock allows a command to be dated).
        self.resume_if_due(min(self._time_of(request), now + skew))
        refusal = self._rule_refusal(request)
        if refusal is None and request.at_given:
            refusal = time_refusal(request.at, self.last_at, now, skew, backdate)
        # A transfer changes no recording, so the audio already decided does not bind it.
        if refusal is None and decided_until is not None and \
                request.command is not Command.TRANSFER:
            refusal = Refusal.TOO_LATE if self._time_of(request) < decided_until else None
        if refusal is not None:
            self._trigger(
                self.CommandRejected,
                request,
                command=request.command.value,
                code=refusal.value,
                state=self.state.value,
                received_at=now,
            )
            return Outcome(self.version, refusal)
        event_class, fields = self._event_for(request)
        self._trigger(event_class, request, **fields)
        return Outcome(self.version, None)

    def _rule_refusal(self, request: CommandRequest) -> Refusal | None:
        if request.command is Command.TRANSFER:
            return transfer_refusal(self.state, self.agent_id, str(request.to_agent_id))
        return rule_refusal(self.mode, self.state, request.command)

    @property
    def pause_deadline(self) -> datetime | None:
        """When the open pause ends by itself (None: not paused, or no cap)."""
        if self.state is not CallState.PAUSED or self.paused_at is None:
            return None
        return pause_deadline(self.paused_at, self.max_pause_ms)

    def resume_if_due(self, until: datetime) -> bool:
        """Record the automatic resume of a capped pause whose deadline is at or before
        `until`, dated at the deadline; returns whether it did."""
        deadline = self.pause_deadline
        if deadline is None or deadline > until:
            return False
        self.trigger_event(
            self.RecordingResumed,
            call_id=self.call_id,
            org_id=self.org_id,
            at=deadline,
            by=SYSTEM,
            command_id=None,
            fingerprint="",
            recording_no=self.recording_no,
            automatic=True,
        )
        return True

    def _time_of(self, request: CommandRequest) -> datetime:
        """The time a command is judged and stored at: an `at` left to the server never
        goes behind the call's clock."""
        return request.at if request.at_given else max(request.at, self.last_at)

    def _event_for(self, request: CommandRequest) -> tuple[type[CallEvent], dict[str, Any]]:
        command = request.command
        if command is Command.TRANSFER:
            return self.CallTransferred, {
                "from_agent_id": self.agent_id,
                "to_agent_id": request.to_agent_id,
            }
        if command is Command.START:
            return self.RecordingStarted, {
                "recording_no": self.recording_no + 1,
                "automatic": False,
            }
        if command is Command.END:
            return self.CallEnded, {
                "recording_no": self.recording_no or None,
                "state_before": self.state.value,
            }
        if command is Command.RESUME:
            return self.RecordingResumed, {"recording_no": self.recording_no, "automatic": False}
        event_class = {
            Command.PAUSE: self.RecordingPaused,
            Command.STOP: self.RecordingStopped,
        }[command]
        return event_class, {"recording_no": self.recording_no}

    def _trigger(
        self, event_class: type[CallEvent], request: CommandRequest, **fields: Any
    ) -> None:
        self.trigger_event(
            event_class,
            call_id=self.call_id,
            org_id=self.org_id,
            at=self._time_of(request),
            by=request.by,
            command_id=request.command_id,
            fingerprint=request.fingerprint,
            **fields,
        )

    def _replay(self, request: CommandRequest) -> Outcome | None:
        if request.command_id is None or request.command_id not in self.commands:
            return None
        fingerprint, outcome = self.commands[request.command_id]
        if fingerprint != request.fingerprint:
            raise IdempotencyConflict(request.command_id, fingerprint, request.fingerprint)
        return Outcome(outcome.version, outcome.refusal, replayed=True)

    # -- deleting audio -------------------------------------------------------

    def check_deletable(self, recording_no: int) -> Deletion | None:
        """Whether recording `recording_no` may be deleted now: None if so, its deletion if
        it was deleted already; RecordingNotFound or RecordingStillOpen otherwise."""
        if not 1 <= recording_no <= self.recording_no:
            raise RecordingNotFound(self.call_id, recording_no)
        if recording_no == self.recording_no and self.state in (
                CallState.RECORDING, CallState.PAUSED):
            raise RecordingStillOpen(self.call_id, recording_no)
        return self.deleted.get(recording_no)

    def delete_recording(self, recording_no: int, *, reason: DeletionReason, by: str,
                         at: datetime, sha256: str | None, note: str | None = None
                         ) -> Deletion:
        """Record the deletion of a recording's audio; a second deletion records nothing."""
        done = self.check_deletable(recording_no)
        if done is not None:
            return done
        self.trigger_event(self.RecordingDeleted, call_id=self.call_id, org_id=self.org_id,
                           at=max(at, self.last_at), by=by, command_id=None, fingerprint="",
                           recording_no=recording_no, reason=reason.value, sha256=sha256,
                           note=note)
        return self.deleted[recording_no]

    def refuse_deletion(self, recording_no: int, *, by: str, at: datetime) -> None:
        """Record that deleting a held recording was refused (`legal_hold`)."""
        self.trigger_event(self.CommandRejected, call_id=self.call_id, org_id=self.org_id,
                           at=at, by=by, command_id=None, fingerprint="",
                           command=DELETE_COMMAND, code=LEGAL_HOLD, state=self.state.value,
                           received_at=at)

    # -- applying events ------------------------------------------------------

    def _move(self, event: CallEvent) -> None:
        """Move to the state `event` leaves the call in (by its published type)."""
        state = STATE_AFTER[TOPIC_TYPES[event.TOPIC]]
        self.state = state
        self.last_at = event.at
        if state is CallState.ENDED:
            self.timeline.finish(event.at)
        else:
            # RecordingStarted and RecordingResumed say whether they were automatic.
            automatic = getattr(event, "automatic", False)
            self.timeline.open(state, event.at, self.recording_no,
                               opened_by(event.by, automatic))
        self._remember(event, None)

    def _remember(self, event: CallEvent, refusal: Refusal | None) -> None:
        if event.command_id is not None:
            self.commands[event.command_id] = (
                event.fingerprint,
                Outcome(event.originator_version, refusal),
            )

    @property
    def holders(self) -> frozenset[str]:
        """Every agent who has had the call, the current one included."""
        return frozenset(holding.agent_id for holding in self.timeline.agents)

    @property
    def is_finished(self) -> bool:
        """An ended call changes no more (later commands are only recorded as refused)."""
        return self.state is CallState.ENDED
