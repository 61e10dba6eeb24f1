"""Fixtures of the compliance lifecycle suite: a running backend, pipeline included."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from recaudit.settings import Settings
from tests.core.helpers import mark_postgres_items
from tests.lifecycle.rig import LATENESS_MS, Rig, rig_settings, running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_postgres_items(items, Path(__file__).parent)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """On the embedded defaults."""
    yield from running(rig_settings(tmp_path))


@pytest.fixture
def any_rig(settings: Settings) -> Iterator[Rig]:
    """On each event store (SQLite and PostgreSQL)."""
    yield from running(replace(settings, projection_linger_ms=0,
                               audio_lateness_ms=LATENESS_MS))
