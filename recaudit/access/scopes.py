"""Whose a call is: its organisation and agent, read from the event store.

A call's organisation is fixed when it starts, so it is read from its first event only and
kept in a bounded cache; an unknown call is not cached (it may start a moment later). Its
agent changes with every transfer, so a question about agents (an agent's token) is read
fresh from the whole call: the agent who has it now and those who had it before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from recaudit.access.rules import PERMISSIONS, Action, Reach
from recaudit.access.tokens import EVERY_ORG, Principal
from recaudit.core.service import RecordingService


@dataclass(frozen=True)
class CallOwner:
    org_id: str
    agent_id: str  # the agent who has the call (the one who started it, if not `current`)
    former: frozenset[str] = frozenset()  # agents who had it before (with `current` only)
    current: bool = False  # read from the whole call: agent_id and former are up to date


OwnerLookup = Callable[[str], CallOwner | None]


class CallOwners:
    """`OwnerLookup` over the service's event store, with a bounded cache."""

    def __init__(self, service: RecordingService, capacity: int = 50_000) -> None:
        self.service = service
        self.capacity = capacity
        self._known: OrderedDict[str, CallOwner] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, call_id: str, *, current: bool = False) -> CallOwner | None:
        """The call's owner; `current`: with its agents as they stand now (a full read)."""
        if current:
            return self._current(call_id)
        with self._lock:
            owner = self._known.get(call_id)
            if owner is not None:
                self._known.move_to_end(call_id)
                return owner
        call = self.service.store.call(call_id, version=1)  # CallStarted only
        if call is None:
            return None
        owner = CallOwner(call.org_id, call.agent_id)
        with self._lock:
            self._known[call_id] = owner
            if len(self._known) > self.capacity:
                self._known.popitem(last=False)
        return owner

    def _current(self, call_id: str) -> CallOwner | None:
        call = self.service.store.call(call_id)
        if call is None:
            return None
        return CallOwner(call.org_id, call.agent_id, call.holders - {call.agent_id}, True)

    @property
    def store_down(self) -> bool:
        return self.service.health.is_down


@dataclass(frozen=True)
class Reachable:
    """What a listing may cover: organisations (None: every one) and one agent (or any)."""

    org_ids: tuple[str, ...] | None
    agent_id: str | None


def reachable(who: Principal | None, action: Action, org_id: str | None,
              agent_id: str | None = None) -> Reachable:
    """The organisations and agent a listing for `who` covers, narrowed by those asked for.

    Without a principal (access control off) it is what was asked. A token never reaches
    past its organisation, nor an agent's token past its agent: the gate refuses a query
    that names others (403), and this narrows whatever reaches the route all the same.
    """
    if who is not None:
        if who.org != EVERY_ORG:
            org_id = who.org
        if PERMISSIONS[who.role].get(action) is Reach.OWN:
            agent_id = who.agent_id
    return Reachable(None if org_id is None else (org_id,), agent_id)
