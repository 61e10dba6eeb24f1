"""Fixtures of the segment store suite: a rig on a clock the test controls, and the backend
over HTTP (`api` with small memory bounds, `roomy_api` with the defaults)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.segments import AudioLimits
from tests.segments.helpers import ORIGIN, FakeClock, Rig
from tests.segments.httprig import PER_CALL, TOTAL, Api, serve

NOW = ORIGIN.replace(hour=ORIGIN.hour + 1)  # the server clock, an hour after the calls


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Iterator[Rig]:
    built = Rig(tmp_path, clock, AudioLimits(lateness_ms=None))
    yield built
    built.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    env = {"RECAUDIT_AUDIO_HELD_CALL_BYTES": str(PER_CALL),
           "RECAUDIT_AUDIO_HELD_TOTAL_BYTES": str(TOTAL)}
    yield from serve(tmp_path, env)


@pytest.fixture
def roomy_api(tmp_path: Path) -> Iterator[Api]:
    yield from serve(tmp_path, {})
