"""Fixtures shared by every suite: event stores on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.support import require_service

POSTGRES_URL_VAR = "RECAUDIT_TEST_POSTGRES_URL"
DROP_ATTEMPTS = 40  # a quarter of a second apart


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        require_service("PostgreSQL", f"{POSTGRES_URL_VAR} is not set (scripts/postgres.sh url)")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5):
            pass
    except Exception as exc:
        require_service("PostgreSQL", f"cannot connect to {url}: {exc}")
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg

    name = f"recaudit_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_admin_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    # FORCE ends the test's own leftover sessions. An autovacuum worker that has just
    # started on the database is not the test role's to end: it exits a moment later.
    for attempt in range(DROP_ATTEMPTS):
        try:
            with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == DROP_ATTEMPTS - 1:
                raise
            time.sleep(0.25)


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for the event store under test: SQLite in tmp_path, or a fresh PostgreSQL db."""
    if store_kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        return Settings.from_env({}, data_dir=tmp_path, postgres_url=url)
    return Settings.from_env({}, data_dir=tmp_path)


@pytest.fixture
def backend(settings: Settings) -> Iterator[Backend]:
    built = build(settings)
    yield built
    built.close()


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    built = build(Settings.from_env({}, data_dir=tmp_path))
    yield built
    built.close()


# -- Kafka: a real broker (scripts/kafka.sh) and per-test topics ------------------

KAFKA_VAR = "RECAUDIT_TEST_KAFKA"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = os.environ.get(KAFKA_VAR)
    if not bootstrap:
        require_service("Kafka", f"{KAFKA_VAR} is not set (scripts/kafka.sh start)")
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                 bootstrap_timeout_ms=5000)
        admin.list_topics()
        admin.close()
    except (KafkaError, OSError) as exc:
        require_service("Kafka", f"no broker answers at {bootstrap}: {exc}")
    return bootstrap


@pytest.fixture
def topics() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"test-events-{tag}", f"test-events-{tag}.dlq"


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, topics: tuple[str, str], tmp_path: Path) -> Settings:
    topic, dlq = topics
    return Settings.from_env({}, data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
                             kafka_topic=topic, kafka_dlq_topic=dlq, kafka_partitions=3)


@pytest.fixture
def kafka_backend(kafka_settings: Settings) -> Iterator[Backend]:
    backend = build(kafka_settings)
    yield backend
    backend.close()
