"""The pause scheduler: records the automatic resume of capped pauses as their deadlines pass.

A capped pause ends by itself at its deadline (`Call.pause_deadline`). Commands dated at or
after it record that resume on their own path, before they are judged; a call that gets no
such command is resumed here, once the server clock passes the deadline. Deadlines come
from a `DeadlineSource` (every open capped pause known when the scheduler starts, so those
overdue after a restart are caught up at once) and from `push` (each pause as the read
model learns of it), and wait in a heap. An entry is only a reminder: the service reads the
call as stored and records nothing unless its pause is still open and due, so an entry that
a command, a stop, an end, or another process has made stale costs one read. Two processes
that both find the same deadline due both try to append the resume with the call's next
version; the store takes one, and the other, retried on fresh state, finds nothing to do.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from domain.clock import Clock, iso_millis, system_clock
from recaudit.core.rounds import Rounds
from recaudit.core.service import RecordingService

log = logging.getLogger(__name__)


class DeadlineSource(Protocol):
    """The open capped pauses, by call id and deadline (port; a read model answers)."""

    def pause_deadlines(self) -> Iterable[tuple[str, datetime]]: ...


class PauseScheduler:
    def __init__(self, service: RecordingService, *, poll_seconds: float,
                 clock: Clock = system_clock) -> None:
        self.service = service
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._heap: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()
        self._rounds = Rounds("pause-scheduler", self.run_due, poll_seconds)
        self.resumed = 0

    def push(self, call_id: str, deadline: datetime) -> None:
        """Remember that `call_id` may be due for an automatic resume at `deadline`."""
        with self._lock:
            heapq.heappush(self._heap, (deadline, call_id))

    def load(self, source: DeadlineSource) -> None:
        for call_id, deadline in source.pause_deadlines():
            self.push(call_id, deadline)

    def run_due(self) -> int:
        """Record every resume due by the server clock now; returns how many were recorded."""
        recorded = 0
        while (entry := self._next_due(self.clock())) is not None:
            deadline, call_id = entry
            try:
                result = self.service.resume_due(call_id)
            except Exception:
                # The store cannot be reached (or the call kept changing): try again later.
                log.warning("automatic resume of call %s (due %s) failed; retrying",
                            call_id, iso_millis(deadline), exc_info=True)
                self.push(call_id, deadline)
                break
            if result is not None:
                recorded += 1
        self.resumed += recorded
        return recorded

    def _next_due(self, now: datetime) -> tuple[datetime, str] | None:
        with self._lock:
            if self._heap and self._heap[0][0] <= now:
                return heapq.heappop(self._heap)
            return None

    def pending(self) -> int:
        with self._lock:
            return len(self._heap)

    # -- the thread `serve` runs ------------------------------------------------------------

    def start(self, source: DeadlineSource | None = None) -> None:
        if self._rounds.running:
            return
        if source is not None:
            self.load(source)
        self._rounds.start()

    def stop(self) -> None:
        self._rounds.stop()
