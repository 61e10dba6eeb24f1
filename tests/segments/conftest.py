"""Fixtures of the segment store suite: a rig on a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.segments import AudioLimits
from tests.segments.helpers import ORIGIN, FakeClock, Rig

NOW = ORIGIN.replace(hour=ORIGIN.hour + 1)  # the server clock, an hour after the calls


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Iterator[Rig]:
    built = Rig(tmp_path, clock, AudioLimits(lateness_ms=None))
    yield built
    built.close()
