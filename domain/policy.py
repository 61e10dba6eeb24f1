"""The policy aggregate: an organisation's recording mode, per-agent overrides, history.

An override can be removed again (`remove_override`): the agent then takes the
organisation's mode, and the removal is a change of its own in the history.

A call snapshots the mode that applies to its agent (override first, then the
organisation's mode) together with this aggregate's version when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.errors import HoldReleased, UnknownHold, UnknownOverride
from domain.ids import policy_stream_id
from domain.lifecycle import Hold, Retention, check_retention_days, hold_id
from domain.rules import Mode, PauseBehavior, check_pause_cap
from domain.stream import StreamAggregate


@dataclass(frozen=True)
class Setting:
    """One change of mode, for the organisation (agent_id None) or one agent."""

    mode: Mode
    pause_behavior: PauseBehavior
    agent_id: str | None
    changed_by: str
    reason: str | None
    at: datetime
    version: int
    # The longest a pause of a call started under this setting may last (None: no cap).
    max_pause_ms: int | None = None


@dataclass(frozen=True)
class OverrideRemoval:
    """The removal of one agent's override: the agent takes the organisation's mode again."""

    agent_id: str
    changed_by: str
    reason: str | None
    at: datetime
    version: int


Change = Setting | OverrideRemoval


class Policy(StreamAggregate):
    TOPIC = "recaudit.policy.Policy"

    class Created(Aggregate.Created):
        TOPIC = "recaudit.policy.PolicyCreated"
        org_id: str

    class PolicySet(Aggregate.Event):
        """`max_pause_ms`: the pause cap (None: none; also for changes stored before it)."""

        TOPIC = "recaudit.policy.PolicySet"
        class_version = 2
        org_id: str
        agent_id: str | None
        mode: str
        pause_behavior: str
        changed_by: str
        reason: str | None
        at: datetime
        max_pause_ms: int | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["max_pause_ms"] = None

        def apply(self, aggregate: Any) -> None:
            setting = Setting(
                mode=Mode(self.mode),
                pause_behavior=PauseBehavior(self.pause_behavior),
                agent_id=self.agent_id,
                changed_by=self.changed_by,
                reason=self.reason,
                at=self.at,
                version=self.originator_version,
                max_pause_ms=self.max_pause_ms,
            )
            aggregate.history.append(setting)
            if self.agent_id is None:
                aggregate.org_setting = setting
            else:
                aggregate.overrides[self.agent_id] = setting

    class OverrideRemoved(Aggregate.Event):
        TOPIC = "recaudit.policy.OverrideRemoved"
        org_id: str
        agent_id: str
        changed_by: str
        reason: str | None
        at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.overrides.pop(self.agent_id, None)
            aggregate.history.append(OverrideRemoval(
                agent_id=self.agent_id, changed_by=self.changed_by, reason=self.reason,
                at=self.at, version=self.originator_version,
            ))

    class RetentionSet(Aggregate.Event):
        """How long the organisation's audio is kept (`audio_days` None: for ever)."""

        TOPIC = "recaudit.policy.RetentionSet"
        org_id: str
        audio_days: int | None
        changed_by: str
        reason: str | None
        at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.retention_history.append(Retention(
                audio_days=self.audio_days, changed_by=self.changed_by, reason=self.reason,
                at=self.at, version=self.originator_version,
            ))

    class LegalHoldPlaced(Aggregate.Event):
        TOPIC = "recaudit.policy.LegalHoldPlaced"
        hold_id: str
        org_id: str
        call_id: str | None
        agent_id: str | None
        case: str
        by: str
        reason: str | None
        at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.holds[self.hold_id] = Hold(
                hold_id=self.hold_id, org_id=self.org_id, call_id=self.call_id,
                agent_id=self.agent_id, case=self.case, placed_by=self.by,
                placed_at=self.at, reason=self.reason,
            )

    class LegalHoldReleased(Aggregate.Event):
        TOPIC = "recaudit.policy.LegalHoldReleased"
        hold_id: str
        org_id: str
        by: str
        reason: str | None
        at: datetime

        def apply(self, aggregate: Any) -> None:
            held = aggregate.holds[self.hold_id]
            aggregate.holds[self.hold_id] = replace(
                held, released_by=self.by, released_at=self.at, release_reason=self.reason)

    def __init__(self, *, org_id: str) -> None:
        self.org_id = org_id
        self.org_setting: Setting | None = None
        self.overrides: dict[str, Setting] = {}
        self.history: list[Change] = []
        self.retention_history: list[Retention] = []
        self.holds: dict[str, Hold] = {}

    @classmethod
    def open(cls, org_id: str) -> Policy:
        return cls._create(cls.Created, id=policy_stream_id(org_id), org_id=org_id)

    def set_mode(
        self,
        *,
        mode: Mode,
        pause_behavior: PauseBehavior,
        agent_id: str | None,
        changed_by: str,
        reason: str | None,
        at: datetime,
        max_pause_ms: int | None = None,
    ) -> Setting:
        self.trigger_event(
            self.PolicySet,
            org_id=self.org_id,
            agent_id=agent_id,
            mode=mode.value,
            pause_behavior=pause_behavior.value,
            changed_by=changed_by,
            reason=reason,
            at=at,
            max_pause_ms=check_pause_cap(max_pause_ms),
        )
        setting = self.history[-1]
        assert isinstance(setting, Setting)
        return setting

    def remove_override(self, *, agent_id: str, changed_by: str, reason: str | None,
                        at: datetime) -> OverrideRemoval:
        """Remove the agent's override; UnknownOverride (nothing recorded) if it has none."""
        if agent_id not in self.overrides:
            raise UnknownOverride(self.org_id, agent_id)
        self.trigger_event(self.OverrideRemoved, org_id=self.org_id, agent_id=agent_id,
                           changed_by=changed_by, reason=reason, at=at)
        removal = self.history[-1]
        assert isinstance(removal, OverrideRemoval)
        return removal

    def setting_for(self, agent_id: str) -> Setting | None:
        """The setting a new call of this agent takes: its override, else the org's."""
        return self.overrides.get(agent_id, self.org_setting)

    # -- the compliance lifecycle ----------------------------------------------------

    @property
    def audio_days(self) -> int | None:
        """How many days after its call ended a recording is kept (None: for ever)."""
        return self.retention_history[-1].audio_days if self.retention_history else None

    def set_retention(self, *, audio_days: int | None, changed_by: str, reason: str | None,
                      at: datetime) -> Retention:
        self.trigger_event(self.RetentionSet, org_id=self.org_id,
                           audio_days=check_retention_days(audio_days),
                           changed_by=changed_by, reason=reason, at=at)
        return self.retention_history[-1]

    def place_hold(self, *, call_id: str | None, agent_id: str | None, case: str, by: str,
                   reason: str | None, at: datetime) -> Hold:
        """Place a hold on one call, one agent's calls, or (neither) the whole organisation."""
        if call_id is not None and agent_id is not None:
            raise ValueError("a hold names a call or an agent, not both")
        new_id = hold_id(self.org_id, len(self.holds) + 1)
        self.trigger_event(self.LegalHoldPlaced, hold_id=new_id, org_id=self.org_id,
                           call_id=call_id, agent_id=agent_id, case=case, by=by,
                           reason=reason, at=at)
        return self.holds[new_id]

    def release_hold(self, held_id: str, *, by: str, reason: str | None,
                     at: datetime) -> Hold:
        """Release an active hold (UnknownHold, HoldReleased: nothing recorded)."""
        held = self.holds.get(held_id)
        if held is None:
            raise UnknownHold(held_id)
        if not held.active:
            raise HoldReleased(held_id)
        self.trigger_event(self.LegalHoldReleased, hold_id=held_id, org_id=self.org_id,
                           by=by, reason=reason, at=at)
        return self.holds[held_id]

    def holds_on(self, call_id: str, holders: frozenset[str]) -> list[Hold]:
        """The active holds that cover a call with these agents."""
        return [h for h in self.holds.values() if h.covers(call_id, holders)]
