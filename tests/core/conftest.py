"""Fixtures of the core suites: backends on a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.core.helpers import NOW_MS, FakeClock, mark_postgres_items


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_postgres_items(items, Path(__file__).parent)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW_MS)


@pytest.fixture
def clocked_backend(settings: Settings, clock: FakeClock) -> Iterator[Backend]:
    """A backend on the store under test (SQLite or PostgreSQL) whose clock is `clock`."""
    built = build(settings, clock=clock)
    yield built
    built.close()
