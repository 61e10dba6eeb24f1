"""ClickHouse for the projection tests: one embedded engine per pytest process.

chdb runs one engine per process, on one path. Every test here shares one client of that
engine and gets a database of its own (dropped afterwards), and builds its backend with
`build(settings, clickhouse=client)`. The engine is package-scoped so that it is closed
again once these tests are done, leaving other suites free to open theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.support import require_service


@pytest.fixture(scope="package")
def ch_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        require_service("ClickHouse (chdb)", f"the chdb package cannot be imported: {exc}")
    from projections import engine

    path = tmp_path_factory.mktemp("clickhouse")
    client = engine.connect(f"chdb://{path}")
    yield client
    client.close()


@pytest.fixture
def ch_database(ch_client: Client) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    ch_client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": name})


@pytest.fixture
def ch_settings(tmp_path: Path, ch_database: str) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path, clickhouse_database=ch_database)


@pytest.fixture
def ch_backend(ch_settings: Settings, ch_client: Client) -> Iterator[Backend]:
    backend = build(ch_settings, clickhouse=ch_client)
    yield backend
    backend.close()


@pytest.fixture
def lifecycle_backend(ch_settings: Settings, ch_client: Client) -> Iterator[Backend]:
    """Started (the segment store applies calls before their audio is deleted), with every
    lifecycle event stored: see `tests.lifecycle_events.drive_lifecycle`."""
    from dataclasses import replace

    from tests.lifecycle_events import drive_lifecycle

    backend = build(replace(ch_settings, audio_lateness_ms=200, projection_linger_ms=0),
                    clickhouse=ch_client)
    backend.start()
    try:
        drive_lifecycle(backend)
        yield backend
    finally:
        backend.close()
