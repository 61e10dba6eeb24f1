"""Relay and consumer throughput against a raw kafka-python baseline, on the same broker.

    python -m bench.kafka [--calls N] [--bootstrap HOST:PORT]

1. relay: the outbox relay publishing the event store (read log, decode, Avro
   encode, send with acks=all + idempotence, wait for acks, move tracking),
   against a raw producer sending the very same bytes with the same producer
   settings to a fresh topic.
2. consumer: KafkaFeed + the call-states consumer (poll, decode, apply in one
   SQLite transaction per batch, commit offsets), against a raw consumer that
   only polls the same records.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from bench.verdict import verdict
from consumers.call_states import CallStatesConsumer
from recaudit.adapters.kafka.codec import Codec
from recaudit.adapters.kafka.feed import KafkaFeed
from recaudit.adapters.kafka.relay import producer_for
from recaudit.adapters.kafka.topics import ensure_topics
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import build
from recaudit.settings import Settings
from recaudit.workloads import drive, set_policies

TARGET_RATIO = 0.9  # relay and consumer, each against its raw baseline


def _topic(bootstrap: str, partitions: int) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [name, f"{name}.dlq"], partitions)
    return name


def bench_raw_produce(bootstrap: str, records: list[tuple[bytes, bytes, list[Any]]],
                      topic: str) -> float:
    producer = producer_for(bootstrap)
    started = time.perf_counter()
    futures = [producer.send(topic, key=k, value=v, headers=h) for k, v, h in records]
    producer.flush()
    for future in futures:
        future.get(timeout=60)
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def bench_relay(settings: Settings) -> tuple[float, int]:
    backend = build(settings)
    assert backend.relay is not None
    _ = backend.relay.producer  # connect before timing, as the raw producer does when built
    started = time.perf_counter()
    while backend.relay.relay_once():
        pass
    elapsed = time.perf_counter() - started
    events = backend.relay.stats.events
    backend.close()
    return elapsed, events


def bench_raw_consume(bootstrap: str, topic: str, expected: int) -> float:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4()}",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             max_poll_records=1000, fetch_max_wait_ms=100)
    seen = 0
    started = None
    while seen < expected:
        batch = consumer.poll(timeout_ms=500, max_records=1000)
        n = sum(len(records) for records in batch.values())
        if n and started is None:
            started = time.perf_counter()
        seen += n
        if n:
            consumer.commit()
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return elapsed


def bench_feed_consume(settings: Settings, expected: int, path: Path) -> float:
    assert settings.kafka_bootstrap is not None
    feed = KafkaFeed(settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_dlq_topic,
                     codec=Codec.from_package())
    consumer = CallStatesConsumer(path)
    subscription = feed.subscribe(f"feed-{uuid.uuid4()}", 0)
    seen = 0
    started = None
    while seen < expected:
        batch = subscription.poll(0.5)
        if batch and started is None:
            started = time.perf_counter()
        if batch:
            consumer.apply(batch)
            subscription.commit()
            seen += len(batch)
    elapsed = time.perf_counter() - (started or time.perf_counter())
    subscription.close()
    consumer.close()
    return elapsed


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--bootstrap",
                        default=os.environ.get("RECAUDIT_TEST_KAFKA", "127.0.0.1:19092"))
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    topic = _topic(args.bootstrap, args.partitions)
    settings = Settings.from_env({}, data_dir=data, kafka_bootstrap=args.bootstrap,
                                 kafka_topic=topic, kafka_dlq_topic=f"{topic}.dlq",
                                 kafka_partitions=args.partitions)
    backend = build(settings)
    set_policies(backend.service)
    drive(backend.service, args.calls, seed=1, threads=16)
    events, _ = LocalFeed(backend.store).read(0, 10_000_000)
    codec = Codec.from_package()
    records = [(e.key.encode(), codec.encode(e), codec.headers_for(e)) for e in events]
    backend.close()
    n = len(records)
    print(f"workload: {args.calls} calls, {n} events, {sum(len(v) for _, v, _ in records)} "
          f"Avro bytes, {args.partitions} partitions, broker {args.bootstrap}")

    raw_topic = _topic(args.bootstrap, args.partitions)
    raw_s = bench_raw_produce(args.bootstrap, records, raw_topic)
    relay_s, relayed = bench_relay(settings)
    assert relayed == n, f"relay published {relayed} of {n}"
    raw_c = bench_raw_consume(args.bootstrap, topic, n)
    feed_c = bench_feed_consume(settings, n, data / "bench-states.sqlite")

    figures = {
        "raw_produce_eps": n / raw_s,
        "relay_eps": n / relay_s,
        "raw_consume_eps": n / raw_c,
        "consumer_eps": n / feed_c,
    }
    figures["relay_ratio"] = figures["relay_eps"] / figures["raw_produce_eps"]
    figures["consumer_ratio"] = figures["consumer_eps"] / figures["raw_consume_eps"]
    print(f"{'':<34}{'events/s':>12}")
    print(f"{'raw producer (same bytes)':<34}{figures['raw_produce_eps']:>12,.0f}")
    print(f"{'relay (read+encode+send+track)':<34}{figures['relay_eps']:>12,.0f}"
          f"   ratio {figures['relay_ratio']:.2f}  target >= {TARGET_RATIO:.2f}: "
          f"{verdict(figures['relay_ratio'] >= TARGET_RATIO)}")
    print(f"{'raw consumer (poll only)':<34}{figures['raw_consume_eps']:>12,.0f}")
    print(f"{'consumer (poll+decode+apply)':<34}{figures['consumer_eps']:>12,.0f}"
          f"   ratio {figures['consumer_ratio']:.2f}  target >= {TARGET_RATIO:.2f}: "
          f"{verdict(figures['consumer_ratio'] >= TARGET_RATIO)}")
    return figures


if __name__ == "__main__":
    main()
