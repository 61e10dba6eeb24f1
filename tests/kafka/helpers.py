"""Reading a whole topic back, and waiting on subprocesses, for the Kafka tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from domain.published import PublishedEvent, stream_kind
from recaudit.adapters.kafka.codec import Codec
from recaudit.settings import Settings


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every record of `topic`, partition by partition in offset order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=1000)
    deadline = time.monotonic() + timeout
    partitions = None
    while not partitions:
        partitions = consumer.partitions_for_topic(topic)
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {topic} never appeared")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    records: list[Any] = []
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        if time.monotonic() > deadline:
            raise AssertionError(f"could not read {topic} to its end")
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    consumer.close()
    return records


CODEC = Codec.from_package()


def decoded(records: list[Any]) -> list[PublishedEvent]:
    return [CODEC.decode(r.value) for r in records]


def check_per_call_order(events: list[PublishedEvent]) -> None:
    """Per stream, versions first appear in increasing order; repeats are only re-sends.
    A stream is its kind and key: a call's access log shares the call's key, not its
    versions. Policy and access streams start at version 2 (version 1 is not published)."""
    seen: dict[tuple[str, str], int] = {}
    for event in events:
        stream = (stream_kind(event.type), event.key)
        last = seen.get(stream, 0)
        if event.version > last:
            first_of_log = last == 0 and stream[0] != "call"
            assert event.version == last + 1 or first_of_log, (
                f"{stream}: version {event.version} arrived after {last} (a gap)"
            )
            seen[stream] = event.version


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "recaudit.cli", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


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


def states_snapshot(path: Path) -> dict[str, tuple[object, ...]]:
    """The call-states consumer's rows in `path`, read from outside its process."""
    import sqlite3

    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(path, timeout=5)
        rows = db.execute("SELECT call_id, org_id, state, recording_no, rejections, version "
                          "FROM call_state").fetchall()
        db.close()
    except sqlite3.OperationalError:
        return {}
    return {row[0]: tuple(row[1:]) for row in rows}


def states_progress(path: Path) -> int:
    """How far the call-states consumer in `path` has applied (0: not started)."""
    import sqlite3

    try:
        db = sqlite3.connect(path, timeout=5)
        try:
            row = db.execute("SELECT position FROM progress WHERE id = 1").fetchone()
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0
