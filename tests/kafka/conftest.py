"""A real Kafka broker (scripts/kafka.sh) and per-test topics."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.support import require_service

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


def kafka_env(settings: Settings) -> dict[str, str]:
    """The environment a `recaudit` subprocess needs to use the same stores and topics."""
    env = dict(os.environ)
    env.update({
        "RECAUDIT_DATA_DIR": str(settings.data_dir),
        "RECAUDIT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap or "",
        "RECAUDIT_KAFKA_TOPIC": settings.kafka_topic,
        "RECAUDIT_KAFKA_DLQ_TOPIC": settings.kafka_dlq_topic,
        "RECAUDIT_KAFKA_PARTITIONS": str(settings.kafka_partitions),
    })
    return env
