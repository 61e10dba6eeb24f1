"""Fixtures of the HTTP API suite: the contract's routes on each event store."""

from __future__ import annotations

from pathlib import Path

import pytest

from recaudit.bootstrap import Backend
from tests.api.client import Api
from tests.core.helpers import mark_postgres_items


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_postgres_items(items, Path(__file__).parent)


@pytest.fixture
def api(backend: Backend) -> Api:
    return Api(backend.app)
