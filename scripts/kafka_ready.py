#!/usr/bin/env python3
"""Readiness probe for the local Kafka broker started by scripts/kafka.sh.

The broker counts as ready only when all of these succeed, in this order:

1. a TCP connection to the bootstrap address,
2. an admin metadata request (describe cluster) that lists at least one broker and a
   controller,
3. creation (or presence) of a small probe topic with a leader for its partition,
4. an idempotent ``acks=all`` produce of a unique payload, and
5. a consumer-group consume that reads that very payload back (this also proves that
   the group coordinator and ``__consumer_offsets`` are usable).

Every step is retried until one overall deadline; there is no fixed sleep beyond a short
back-off between attempts. Exit status: 0 ready, 1 deadline passed, 2 the broker process
(``--pid``) died, 3 kafka-python is missing. ``--metadata-only`` stops after step 2 and is
what ``kafka.sh start`` uses to decide whether a running broker is healthy.

Needs kafka-python 3.0.x.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
import uuid

try:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.errors import TopicAlreadyExistsError
except ImportError:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        "kafka_ready: the Python package kafka-python is not installed; "
        "run: pip install 'kafka-python>=3.0,<3.1'\n"
    )
    sys.exit(3)

PROBE_TOPIC = "_recaudit_ready"
PROBE_GROUP = "_recaudit_ready"


class BrokerDied(Exception):
    """The broker process given with --pid is gone."""


class Probe:
    def __init__(self, bootstrap: str, timeout: float, pid: int | None, verbose: bool):
        self.bootstrap = bootstrap
        host, _, port = bootstrap.rpartition(":")
        self.host, self.port = host or "127.0.0.1", int(port)
        self.deadline = time.monotonic() + timeout
        self.pid = pid
        self.verbose = verbose
        self.last_error: str = "no attempt made"

    # -- helpers ---------------------------------------------------------------------------
    def remaining_ms(self, cap_ms: int) -> int:
        left = int((self.deadline - time.monotonic()) * 1000)
        return max(1000, min(cap_ms, left))

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def check_process(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            raise BrokerDied(f"broker process {self.pid} is no longer running") from None
        except PermissionError:
            pass  # exists, owned by someone else

    def note(self, msg: str) -> None:
        if self.verbose:
            sys.stderr.write(f"kafka_ready: {msg}\n")

    def retry(self, step: str, fn):
        """Run fn until it returns a truthy value or the deadline passes."""
        backoff = 0.2
        while True:
            self.check_process()
            try:
                result = fn()
                if result:
                    return result
                self.last_error = f"{step}: not yet"
            except Exception as exc:  # any client error means "not ready yet"
                self.last_error = f"{step}: {type(exc).__name__}: {exc}"
            self.note(self.last_error)
            if self.expired():
                raise TimeoutError(self.last_error)
            time.sleep(min(backoff, max(0.0, self.deadline - time.monotonic())))
            backoff = min(backoff * 2, 1.0)

    # -- steps -------------------------------------------------------------------------------
    def tcp(self) -> bool:
        with socket.create_connection((self.host, self.port), timeout=1):
            return True

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            client_id="recaudit-ready",
            bootstrap_timeout_ms=self.remaining_ms(5000),
            request_timeout_ms=self.remaining_ms(5000),
        )

    def metadata(self) -> dict:
        with self.admin() as admin:
            info = admin.describe_cluster()
        if not info.get("brokers") or info.get("controller_id", -1) in (None, -1):
            return {}
        return info

    def topic(self) -> bool:
        with self.admin() as admin:
            try:
                admin.create_topics(
                    {PROBE_TOPIC: {"num_partitions": 1, "replication_factor": 1}},
                    timeout_ms=self.remaining_ms(10000),
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                pass
        return True

    def round_trip(self) -> bool:
        payload = uuid.uuid4().hex.encode()
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="recaudit-ready",
            acks="all",
            max_block_ms=self.remaining_ms(10000),
            request_timeout_ms=self.remaining_ms(10000),
        )
        try:
            producer.send(PROBE_TOPIC, payload).get(timeout=self.remaining_ms(15000) / 1000)
        finally:
            producer.close(timeout=5)

        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id="recaudit-ready",
            group_id=PROBE_GROUP,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=self.remaining_ms(20000),
            request_timeout_ms=self.remaining_ms(20000) + 1000,
        )
        try:
            consumer.subscribe([PROBE_TOPIC])
            for record in consumer:
                if record.value == payload:
                    consumer.commit()  # keep the next probe from re-reading old records
                    return True
            return False
        finally:
            consumer.close()

    def run(self, metadata_only: bool) -> dict:
        started = time.monotonic()
        self.retry("tcp connect", self.tcp)
        info = self.retry("metadata request", self.metadata)
        if not metadata_only:
            self.retry("create probe topic", self.topic)
            self.retry("produce/consume round trip", self.round_trip)
        info["elapsed_s"] = round(time.monotonic() - started, 2)
        return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap",
        default=f"127.0.0.1:{os.environ.get('KAFKA_PORT', '19092')}",
        help="host:port of the broker (default 127.0.0.1:$KAFKA_PORT or :19092)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="overall deadline, seconds")
    parser.add_argument("--pid", type=int, default=None, help="fail fast if this process exits")
    parser.add_argument("--metadata-only", action="store_true", help="skip topic/produce/consume")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--verbose", action="store_true", help="report every failed attempt")
    args = parser.parse_args(argv)

    # kafka-python logs every refused connection while the broker boots; keep that out
    # of the way unless asked for.
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL)
    logging.getLogger("kafka").setLevel(logging.WARNING if args.verbose else logging.CRITICAL + 1)

    probe = Probe(args.bootstrap, args.timeout, args.pid, args.verbose)
    try:
        info = probe.run(args.metadata_only)
    except BrokerDied as exc:
        sys.stderr.write(f"kafka_ready: {exc}\n")
        return 2
    except TimeoutError as exc:
        sys.stderr.write(
            f"kafka_ready: broker at {args.bootstrap} not ready after {args.timeout:g}s "
            f"(last error: {exc})\n"
        )
        return 1
    if not args.quiet:
        what = "metadata ok" if args.metadata_only else "metadata + produce/consume ok"
        print(
            f"kafka ready at {args.bootstrap}: {what}, cluster {info.get('cluster_id')}, "
            f"{info['elapsed_s']}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
