"""Fixtures of the integrity suite: a store with calls, audio and a sealed chain, on
SQLite and on PostgreSQL, and direct SQL access to tamper with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recaudit.bootstrap import Backend
from recaudit.settings import Settings
from tests.core.helpers import mark_postgres_items
from tests.integrity.scene import Scene, check, populate, seal
from tests.integrity.tamper import open_tamper


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_postgres_items(items, Path(__file__).parent)


@pytest.fixture
def scene(backend: Backend, settings: Settings) -> Iterator[Scene]:
    populate(backend)
    head = seal(settings).head
    assert head.position == backend.store.head() and head.recordings_seq >= 2
    assert check(settings).clean, "the untouched store must verify clean"
    tamper = open_tamper(settings)
    yield Scene(settings, backend, tamper, head)
    tamper.close()
