"""A background thread that does one round of work every so often, until it is stopped.

The pause scheduler, the sealer and the retention sweep run this way inside `serve`. A
round that fails is logged and the next one tries again: nothing stops the thread but
`stop`, which lets a round in progress finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Rounds:
    def __init__(self, name: str, work: Callable[[], object], interval: float, *,
                 at_start: bool = True) -> None:
        """`at_start`: the first round runs at once (else after one interval)."""
        self.name = name
        self.work = work
        self.interval = interval
        self.at_start = at_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        if not self.at_start and self._stop.wait(self.interval):
            return
        while True:
            try:
                self.work()
            except Exception:  # one bad round never stops the thread
                log.exception("%s: a round failed; retrying in %g s", self.name, self.interval)
            if self._stop.wait(self.interval):
                return
