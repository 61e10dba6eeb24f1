"""How far each call's audio is decided, for the command service to read without waiting.

The command service asks on its writer thread for every command, so this has
its own small lock and never waits for the desk. A value only ever rises while
a call is active: it is raised when the desk claims a time for a lateness
decision (before deciding) and when a decision is stored. A call not in memory
is read from its saved state once. That nothing is decided yet is remembered
too (for the most recent calls asked about): the desk is the only writer of
those states, and it raises the value here before any decision it makes, so
the answer can only change through `raise_to`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

# Calls remembered as having nothing decided; the oldest asked about are forgotten first
# (and read from their saved state again if asked about later).
UNDECIDED_KEPT = 65_536


class Watermarks:
    def __init__(self, load: Callable[[str], int | None], *,
                 undecided_kept: int = UNDECIDED_KEPT) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._ticks: dict[str, int] = {}
        self._undecided: dict[str, None] = {}  # insertion ordered: oldest first
        self._undecided_kept = undecided_kept

    def get(self, call_id: str) -> int | None:
        with self._lock:
            ticks = self._ticks.get(call_id)
            if ticks is not None or call_id in self._undecided:
                return ticks
        loaded = self._load(call_id)
        if loaded is not None:
            self.raise_to(call_id, loaded)
            return loaded
        with self._lock:
            # Raised while the state was read: that value is newer than what was read.
            ticks = self._ticks.get(call_id)
            if ticks is None:
                self._remember_undecided(call_id)
        return ticks

    def nothing_saved(self, call_id: str) -> None:
        """The call has no saved state (it has just been created): nothing to read."""
        with self._lock:
            if call_id not in self._ticks:
                self._remember_undecided(call_id)

    def raise_to(self, call_id: str, ticks: int) -> None:
        with self._lock:
            self._undecided.pop(call_id, None)
            self._ticks[call_id] = max(ticks, self._ticks.get(call_id, ticks))

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._ticks.pop(call_id, None)
            self._undecided.pop(call_id, None)

    def _remember_undecided(self, call_id: str) -> None:
        self._undecided[call_id] = None
        if len(self._undecided) > self._undecided_kept:
            del self._undecided[next(iter(self._undecided))]
