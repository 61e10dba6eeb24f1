"""Whose a call is: its organisation and agent, read once from the event store.

A call's organisation and agent are fixed when it starts, so they are read from its
first event only and kept in a bounded cache; an unknown call is not cached (it may
start a moment later).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from recaudit.core.service import RecordingService


@dataclass(frozen=True)
class CallOwner:
    org_id: str
    agent_id: str


OwnerLookup = Callable[[str], CallOwner | None]


class CallOwners:
    """`OwnerLookup` over the service's event store, with a bounded cache."""

    def __init__(self, service: RecordingService, capacity: int = 50_000) -> None:
        self.service = service
        self.capacity = capacity
        self._known: OrderedDict[str, CallOwner] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, call_id: str) -> CallOwner | None:
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

    @property
    def store_down(self) -> bool:
        return self.service.health.is_down
