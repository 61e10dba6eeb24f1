"""The application service: turns requests into aggregate commands and answers.

Writes go through the group committer; reads replay from the event store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.call import Call, CommandRequest, Outcome, clock_refusal
from domain.clock import Clock, iso_millis, system_clock, to_utc_millis
from domain.errors import (
    CallIdTaken,
    FutureTimestamp,
    NoPolicy,
    PastTimestamp,
    UnknownCall,
    UnknownOverride,
    UnknownPolicy,
)
from domain.ids import call_stream_id, policy_stream_id
from domain.policy import Policy, Setting
from domain.rules import Command, Mode, PauseBehavior, Refusal
from recaudit.core.committer import GroupCommitter, Job, Positions, StoreRead, UnitOfWork
from recaudit.core.eventstore import EventStore
from recaudit.core.health import StoreHealth
from recaudit.core.readmodel import require_stored
from recaudit.core.views import CallStatus, PolicySnapshot, TimelineView


@dataclass(frozen=True)
class CallResult:
    """A call as it stood right after a command, with the command's refusal if any."""

    status: CallStatus
    position: int | None
    refusal: Refusal | None = None
    replayed: bool = False


@dataclass(frozen=True)
class PolicyResult:
    policy: PolicySnapshot
    setting: Setting


class AudioWatermark(Protocol):
    """How far a call's audio is already decided (port; the segment store answers)."""

    def decided_until(self, call_id: str) -> datetime | None: ...

    def created(self, call_id: str) -> None:
        """The call has just been created: it has no audio, so nothing is decided."""


class RecordingService:
    def __init__(
        self,
        store: EventStore,
        committer: GroupCommitter,
        *,
        skew: timedelta = timedelta(seconds=5),
        backdate: timedelta | None = None,
        clock: Clock = system_clock,
        watermark: AudioWatermark | None = None,
        health: StoreHealth | None = None,
    ) -> None:
        """`health`: whether the store can be reached; without one, a health that never
        probes (enough for an embedded store, which cannot be unreachable).
        `backdate`: how far behind the server clock a client `at` may be (None: no bound)."""
        self.store = store
        self.committer = committer
        self.skew = skew
        self.backdate = backdate
        self.clock = clock
        self.watermark = watermark
        self.health = health if health is not None else StoreHealth(None)

    # -- policies -------------------------------------------------------------

    def set_policy(
        self,
        org_id: str,
        *,
        mode: Mode,
        changed_by: str,
        reason: str | None = None,
        pause_behavior: PauseBehavior = PauseBehavior.SKIP,
        agent_id: str | None = None,
        max_pause_ms: int | None = None,
    ) -> PolicyResult:
        def job(uow: UnitOfWork) -> Callable[[Positions], PolicyResult]:
            policy = uow.get(policy_stream_id(org_id))
            if policy is None:
                policy = Policy.open(org_id)
                uow.add(policy)
            setting = policy.set_mode(
                mode=mode,
                pause_behavior=pause_behavior,
                agent_id=agent_id,
                changed_by=changed_by,
                reason=reason,
                at=self.clock(),
                max_pause_ms=max_pause_ms,
            )
            result = PolicyResult(PolicySnapshot.of(policy), setting)
            return lambda _positions: result

        return self.committer.run(job)

    def remove_override(self, org_id: str, agent_id: str, *, changed_by: str,
                        reason: str | None = None) -> PolicySnapshot:
        """Remove the agent's override (UnknownOverride if it has none, recording nothing);
        calls already running keep their mode."""
        def job(uow: UnitOfWork) -> Callable[[Positions], PolicySnapshot]:
            policy = uow.get(policy_stream_id(org_id), cached=False)
            if policy is None:
                raise UnknownOverride(org_id, agent_id)
            policy.remove_override(agent_id=agent_id, changed_by=changed_by, reason=reason,
                                   at=self.clock())
            snapshot = PolicySnapshot.of(policy)
            return lambda _positions: snapshot

        return self.committer.run(job)

    def policy(self, org_id: str) -> PolicySnapshot:
        policy = self.store.policy(org_id)
        if policy is None or not policy.history:
            raise UnknownPolicy(org_id)
        return PolicySnapshot.of(policy)

    # -- calls ----------------------------------------------------------------

    def start_call(
        self,
        *,
        call_id: str,
        org_id: str,
        agent_id: str,
        direction: str,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CallResult:
        return self.committer.run(self._start_call(call_id, org_id, agent_id, direction, at,
                                                   command_id), _start_reads(call_id, org_id))

    async def start_call_async(
        self,
        *,
        call_id: str,
        org_id: str,
        agent_id: str,
        direction: str,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CallResult:
        """`start_call` for a caller on an event loop: the same job, the same answer."""
        return await self.committer.run_async(self._start_call(
            call_id, org_id, agent_id, direction, at, command_id), _start_reads(call_id, org_id))

    def _start_call(self, call_id: str, org_id: str, agent_id: str, direction: str,
                    at: datetime | None, command_id: str | None) -> Job[CallResult]:
        fingerprint = _fingerprint(
            Command.START_CALL, agent_id, at, org=org_id, direction=direction
        )

        stream_id, policy_id = call_stream_id(call_id), policy_stream_id(org_id)

        def job(uow: UnitOfWork) -> Callable[[Positions], CallResult]:
            request = self._request(Command.START_CALL, agent_id, at, command_id, fingerprint)
            existing = uow.get(stream_id)
            if existing is not None:
                if existing.org_id != org_id:
                    # Another organisation's call: refuse before its rules (or its command
                    # ids) can record or reveal anything of it.
                    raise CallIdTaken(call_id)
                outcome = existing.handle(request, self.clock(), self.skew,
                                          backdate=self.backdate)
                return self._answer(existing, outcome, uow.get(policy_id))
            self._check_start_time(request.at)
            # Read the policy fresh: another process may have changed it.
            policy = uow.get(policy_id, cached=False)
            setting = policy.setting_for(agent_id) if policy is not None else None
            if setting is None:
                raise NoPolicy(org_id, agent_id)
            call = Call.start(
                call_id=call_id,
                org_id=org_id,
                agent_id=agent_id,
                direction=direction,
                mode=setting.mode,
                policy_version=policy.version,
                pause_behavior=setting.pause_behavior,
                request=request,
                max_pause_ms=setting.max_pause_ms,
            )
            uow.add(call)
            if self.watermark is not None:
                self.watermark.created(call_id)
            return self._answer(call, Outcome(call.version, None), policy)

        return job

    def command(
        self,
        call_id: str,
        command: Command,
        *,
        by: str,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CallResult:
        return self.committer.run(self._command(call_id, command, by, at, command_id))

    async def command_async(
        self,
        call_id: str,
        command: Command,
        *,
        by: str,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CallResult:
        """`command` for a caller on an event loop: the same job, the same answer."""
        return await self.committer.run_async(self._command(call_id, command, by, at,
                                                            command_id))

    def _command(self, call_id: str, command: Command, by: str, at: datetime | None,
                 command_id: str | None) -> Job[CallResult]:
        if command in (Command.START_CALL, Command.TRANSFER):
            raise ValueError(f"use {command.value} to send {command.value}")
        return self._on_call(call_id, command, by, at, command_id, _fingerprint(command, by, at))

    def transfer(
        self,
        call_id: str,
        *,
        to_agent_id: str,
        by: str,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CallResult:
        """Hand the call to `to_agent_id`: only who has it changes (docs/rules.md)."""
        fingerprint = _fingerprint(Command.TRANSFER, by, at, to=to_agent_id)
        return self.committer.run(self._on_call(call_id, Command.TRANSFER, by, at, command_id,
                                                fingerprint, to_agent_id=to_agent_id))

    def _on_call(self, call_id: str, command: Command, by: str, at: datetime | None,
                 command_id: str | None, fingerprint: str,
                 to_agent_id: str | None = None) -> Job[CallResult]:
        stream_id = call_stream_id(call_id)

        def job(uow: UnitOfWork) -> Callable[[Positions], CallResult]:
            call = uow.get(stream_id)
            if call is None:
                raise UnknownCall(call_id)
            request = self._request(command, by, at, command_id, fingerprint, to_agent_id)
            decided = self.watermark.decided_until(call_id) if self.watermark else None
            outcome = call.handle(request, self.clock(), self.skew, decided_until=decided,
                                  backdate=self.backdate)
            return self._answer(call, outcome, uow.get(policy_stream_id(call.org_id)))

        return job

    def resume_due(self, call_id: str) -> CallResult | None:
        """Record the automatic resume of the call's capped pause if its deadline has passed
        the server clock; None if there was nothing to do (not paused, no cap, not yet due,
        or already recorded, by this process or another)."""
        stream_id = call_stream_id(call_id)

        def job(uow: UnitOfWork) -> Callable[[Positions], CallResult | None]:
            # As stored now: another process may have resumed (or ended) the call.
            call = uow.get(stream_id, cached=False)
            if call is None or not call.resume_if_due(self.clock()):
                return lambda _positions: None
            return self._answer(call, Outcome(call.version, None),
                                uow.get(policy_stream_id(call.org_id)))

        return self.committer.run(job)

    def call(self, call_id: str) -> CallResult:
        call = self.store.call(call_id)
        if call is None:
            raise UnknownCall(call_id)
        status = CallStatus.of(call, self.store.policy(call.org_id))
        return CallResult(status, self.store.position_of(call.id, call.version))

    def timeline(self, call_id: str) -> TimelineView:
        call = self.store.call(call_id)
        if call is None:
            raise UnknownCall(call_id)
        return TimelineView.of(call)

    # -- helpers --------------------------------------------------------------

    def _check_start_time(self, at: datetime) -> None:
        """A new call dated too far from the server clock is refused before it exists."""
        now = self.clock()
        refusal = clock_refusal(at, now, self.skew, self.backdate)
        if refusal is Refusal.FUTURE_TIMESTAMP:
            raise FutureTimestamp(iso_millis(at), iso_millis(now + self.skew))
        if refusal is Refusal.PAST_TIMESTAMP and self.backdate is not None:
            raise PastTimestamp(iso_millis(at), iso_millis(now - self.backdate))

    def _request(
        self,
        command: Command,
        by: str,
        at: datetime | None,
        command_id: str | None,
        fingerprint: str,
        to_agent_id: str | None = None,
    ) -> CommandRequest:
        return CommandRequest(
            command=command,
            at=to_utc_millis(at) if at is not None else self.clock(),
            by=by,
            command_id=command_id,
            fingerprint=fingerprint,
            at_given=at is not None,
            to_agent_id=to_agent_id,
        )

    def _answer(self, call: Call, outcome: Outcome,
                policy: Policy | None) -> Callable[[Positions], CallResult]:
        """`policy`: the call's organisation's (its holds say the status's `legal_hold`)."""
        stream_id, version = call.id, outcome.version
        if outcome.replayed:
            # The first outcome: the call as it stood right after that command.
            def replayed(_positions: Positions) -> CallResult:
                then: Call = self.store.repository.get(stream_id, version=version)
                position = self.store.position_of(stream_id, version)
                return CallResult(CallStatus.of(then, policy), position, outcome.refusal, True)

            return StoreRead(replayed)
        status = CallStatus.of(call, policy)  # taken now: later jobs may move the call on
        return lambda positions: CallResult(
            status, positions.get((stream_id, version)), outcome.refusal
        )


def _start_reads(call_id: str, org_id: str) -> tuple[UUID, UUID]:
    """What a start reads without a current copy: the call (new, as a rule) and its
    organisation's policy (read fresh)."""
    return call_stream_id(call_id), policy_stream_id(org_id)


def _fingerprint(command: Command, by: str, at: datetime | None, **extra: str) -> str:
    """What makes two requests "the same command" for idempotency."""
    parts = [command.value, f"by={by}"]
    if at is not None:
        parts.append(f"at={iso_millis(at)}")
    parts.extend(f"{k}={v}" for k, v in sorted(extra.items()))
    return "|".join(parts)


class DomainTimelineReader:
    """The timeline replayed from the event store: always current, the reference."""

    def __init__(self, service: RecordingService) -> None:
        self.service = service

    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        if min_position is not None:
            require_stored(self.service.store, min_position)
        return self.service.timeline(call_id)
