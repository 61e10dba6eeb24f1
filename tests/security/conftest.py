"""Fixtures of the access-control suite: tokens for every role and a backend that checks them.

The backends share one embedded ClickHouse engine (one engine path per process), each on a
database of its own, dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from domain.rules import Mode
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.security.helpers import Secured, TestClient, Tokens
from tests.support import require_service


@pytest.fixture(scope="package")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        require_service("ClickHouse (chdb)", f"the chdb package cannot be imported: {exc}")
    from projections import engine

    client = engine.connect(f"chdb://{tmp_path_factory.mktemp('clickhouse')}")
    yield client
    client.close()


BackendFactory = Callable[..., Backend]


@pytest.fixture
def make_backend(tmp_path: Path, clickhouse: Client) -> Iterator[BackendFactory]:
    """Builds backends from environment variables (and settings overrides); closes them."""
    built: list[tuple[Backend, str]] = []

    def make(env: dict[str, str] | None = None, **overrides: object) -> Backend:
        database = f"sec_{uuid.uuid4().hex[:12]}"
        settings = Settings.from_env(env or {}, data_dir=tmp_path / database,
                                     clickhouse_database=database, **overrides)
        backend = build(settings, clickhouse=clickhouse)
        built.append((backend, database))
        return backend

    yield make
    for backend, database in built:
        backend.close()
        clickhouse.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})


@pytest.fixture
def secured(make_backend: BackendFactory) -> Secured:
    tokens = Tokens.issue()
    backend = make_backend({"RECAUDIT_TOKENS": tokens.config()})
    for org in ("acme", "globex"):
        backend.service.set_policy(org, mode=Mode.ON_DEMAND, changed_by="setup")
    return Secured(backend, tokens, TestClient(backend.app))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.security.test_fuzz import RUNS

    for line in RUNS:
        terminalreporter.write_line(line)
