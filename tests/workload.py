"""Clean-run references to compare with; the traffic itself comes from recaudit.workloads."""

from __future__ import annotations

from pathlib import Path

from consumers.call_states import CallStatesConsumer
from recaudit.adapters.localfeed import LocalFeed
from recaudit.core.service import RecordingService
from recaudit.workloads import ORGS, drive, play, scripts, set_policies

__all__ = ["ORGS", "clean_run_states", "drive", "play", "scripts", "set_policies"]


def clean_run_states(service: RecordingService, path: Path) -> dict[str, tuple[object, ...]]:
    """What the call-states consumer holds after one clean pass over the local log."""
    consumer = CallStatesConsumer(path)
    feed = LocalFeed(service.store)
    position = 0
    while True:
        events, last = feed.read(position, 5000)
        if last == position:
            break
        if events:
            consumer.apply(events)
        position = last
    snapshot = consumer.snapshot()
    consumer.close()
    return snapshot
