"""`Backend.start(only=...)`: the background parts named run and no others; a name the
backend does not have is refused before anything starts."""

from __future__ import annotations

import threading

import pytest

from recaudit.bootstrap import BACKGROUND_PARTS, Backend
from tests.support import wait_until


def started_since(before: set[threading.Thread]) -> set[str]:
    """The names of the threads running now that were not running in `before`."""
    return {thread.name for thread in threading.enumerate() if thread not in before}


def test_the_embedded_backend_names_every_part_but_the_relay(sqlite_backend: Backend) -> None:
    parts = sqlite_backend.background_parts()
    assert set(parts) == set(BACKGROUND_PARTS) - {"relay"}
    assert len(parts) == len(set(parts))


def test_only_the_parts_named_run(sqlite_backend: Backend) -> None:
    before = set(threading.enumerate())
    sqlite_backend.start(only=["call-states", "sealer"])

    assert set(sqlite_backend.pipeline.runners) == {"call-states"}
    assert started_since(before) == {"consumer-call-states", "sealer"}


def test_every_part_runs_when_none_is_named(sqlite_backend: Backend) -> None:
    before = set(threading.enumerate())
    sqlite_backend.start()

    assert set(sqlite_backend.pipeline.runners) == {"call-states", "projections", "segments"}
    wait_until(lambda: "segments-sweeper" in started_since(before), what="the sweeper")
    assert started_since(before) >= {
        "consumer-call-states", "consumer-projections", "consumer-segments",
        "segments-sweeper", "sealer", "retention", "pause-scheduler"}


def test_a_part_the_backend_lacks_is_refused_and_nothing_starts(
        sqlite_backend: Backend) -> None:
    before = set(threading.enumerate())

    with pytest.raises(ValueError, match=r"no background part named relay, sweeper \(known: "
                                         r"call-states, projections, segments, sealer"):
        sqlite_backend.start(only=["segments", "relay", "sweeper"])

    assert sqlite_backend.pipeline.runners == {}
    assert started_since(before) == set()
