"""How far each call's audio is decided, for the command service to read without waiting.

The command service asks on its writer thread for every command, so this has
its own small lock and never waits for the desk. A value only ever rises while
a call is active: it is raised when the desk claims a time for a lateness
decision (before deciding) and when a decision is stored. A call not in memory
is read from its saved state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Watermarks:
    def __init__(self, load: Callable[[str], int | None]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._ticks: dict[str, int] = {}

    def get(self, call_id: str) -> int | None:
        with self._lock:
            ticks = self._ticks.get(call_id)
        if ticks is not None:
            return ticks
        loaded = self._load(call_id)
        if loaded is not None:
            self.raise_to(call_id, loaded)
        return loaded

    def raise_to(self, call_id: str, ticks: int) -> None:
        with self._lock:
            self._ticks[call_id] = max(ticks, self._ticks.get(call_id, ticks))

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._ticks.pop(call_id, None)
