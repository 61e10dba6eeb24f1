"""The segment consumer: the desk driven by the event feed, plus the lateness sweeper.

It implements `consumers.framework.Consumer`, so it runs under a
`ConsumerRunner` on any feed. Its progress (the position, and each call's
version inside the call's state) is stored by the desk with every batch, so a
restart resumes exactly where the last stored batch ended. The sweeper thread,
started with the consumer, decides audio that waited longer than the lateness
bound; it must run in the process that receives the audio.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from consumers.framework import Consumer
from consumers.segments.desk import SegmentDesk
from domain.published import PublishedEvent

log = logging.getLogger(__name__)


class SegmentConsumer(Consumer):
    name = "segments"

    def __init__(self, desk: SegmentDesk, *, sweep_seconds: float | None = 1.0) -> None:
        self.desk = desk
        self.sweep_seconds = sweep_seconds
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def resume_position(self) -> int:
        self._start_sweeper()
        return self.desk.position()

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        self.desk.apply(events)

    def _start_sweeper(self) -> None:
        if self.sweep_seconds is None or self._sweeper is not None:
            return
        self._sweeper = threading.Thread(target=self._sweep_until_stopped,
                                         name="segments-sweeper", daemon=True)
        self._sweeper.start()

    def _sweep_until_stopped(self) -> None:
        assert self.sweep_seconds is not None
        while not self._stop.wait(self.sweep_seconds):
            try:
                self.desk.sweep()
            except Exception:  # logged; the next sweep tries again
                log.exception("segment store: sweep failed")

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=30)
            self._sweeper = None
