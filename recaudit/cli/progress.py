"""A progress bar for a rebuild, redrawn in place on a terminal."""

from __future__ import annotations

import logging
from typing import TextIO

from projections.rebuild import ProgressCallback, RebuildProgress, describe, logged

WIDTH = 30


class ProgressBar:
    """Redrawn at most every `interval` seconds; `finish` draws the last state reached."""

    def __init__(self, stream: TextIO, head: int, interval: float = 0.1) -> None:
        self.stream = stream
        self.head = head
        self.interval = interval
        self.last: RebuildProgress | None = None
        self.drawn_at: float | None = None

    def show(self, progress: RebuildProgress) -> None:
        self.last = progress
        if self.drawn_at is None or progress.seconds - self.drawn_at >= self.interval:
            self._draw(progress)

    def finish(self) -> None:
        if self.last is not None:
            if self.drawn_at != self.last.seconds:
                self._draw(self.last)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, progress: RebuildProgress) -> None:
        fraction = min(1.0, progress.position / self.head) if self.head else 1.0
        filled = round(WIDTH * fraction)
        bar = "#" * filled + "." * (WIDTH - filled)
        self.stream.write(f"\r\x1b[K[{bar}] {describe(progress, self.head)}")
        self.stream.flush()
        self.drawn_at = progress.seconds


def rebuild_progress(stream: TextIO, head: int, log: logging.Logger) -> tuple[
        ProgressCallback, ProgressBar | None]:
    """A bar on `stream` if it is a terminal; otherwise a log line every second."""
    if stream.isatty():
        bar = ProgressBar(stream, head)
        return bar.show, bar
    return logged(log, head, seconds=1.0), None
