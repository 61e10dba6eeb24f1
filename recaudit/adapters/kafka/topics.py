"""Creating the project's topics, with the configured partition count."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError

from consumers.framework import FeedUnavailable


def ensure_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    """Create any of `topics` that do not exist yet; existing ones are left as they are."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="recaudit-admin",
                                 request_timeout_ms=15000)
    except KafkaError as exc:
        raise FeedUnavailable(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = {t: {"num_partitions": partitions, "replication_factor": 1}
                   for t in topics if t not in existing}
        if missing:
            try:
                admin.create_topics(missing, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                pass
    except KafkaError as exc:
        raise FeedUnavailable(f"cannot create topics on {bootstrap}: {exc}") from exc
    finally:
        admin.close()
