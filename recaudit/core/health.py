"""Whether the event store can be reached, so requests fail fast while it cannot.

The storage library retries a lost connection many times before it gives up
(about ten connection timeouts). While the store is known to be down, that
would make every request hang; instead a probe thread watches the store and
the API answers 503 at once until the probe sees it back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The event store cannot be reached: nothing was recorded; retry later."""

    def __init__(self, detail: object) -> None:
        super().__init__(f"the event store is unavailable ({detail}); nothing was recorded, "
                         "retry later")


class StoreHealth:
    def __init__(self, probe: Callable[[], None] | None, *, interval: float = 0.5) -> None:
        self.probe = probe
        self.interval = interval
        self.last_error: str | None = None
        self._down_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def mark_down(self, error: object) -> None:
        if self._down_since is None:
            log.warning("event store unavailable: %s", error)
            self._down_since = time.monotonic()
        self.last_error = str(error)

    def mark_up(self) -> None:
        if self._down_since is not None:
            log.warning("event store reachable again after %.1fs",
                        time.monotonic() - self._down_since)
        self._down_since = None
        self.last_error = None

    def start(self) -> None:
        if self.probe is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, name="store-health", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        assert self.probe is not None
        while not self._stop.wait(self.interval):
            try:
                self.probe()
            except Exception as exc:
                self.mark_down(exc)
            else:
                self.mark_up()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def postgres_probe(url: str, timeout: int = 1) -> Callable[[], None]:
    def probe() -> None:
        import psycopg

        psycopg.connect(url, connect_timeout=timeout).close()

    return probe
