"""The outbox relay and the consumers against a real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from kafka import KafkaProducer

from consumers.call_states import CallStatesConsumer
from consumers.framework import ConsumerRunner
from domain.published import EVENT_TYPES
from domain.rules import Command, Mode
from recaudit.adapters.kafka.codec import Codec
from recaudit.adapters.kafka.feed import KafkaFeed
from recaudit.adapters.kafka.relay import tracking_recorder
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.kafka.helpers import (
    check_per_call_order,
    decoded,
    kafka_env,
    kill,
    read_topic,
    start_cli,
    states_snapshot,
)
from tests.lifecycle_events import drive_lifecycle
from tests.support import wait_until
from tests.workload import clean_run_states, drive, set_policies

pytestmark = pytest.mark.kafka


def relay_all(backend: Backend) -> None:
    assert backend.relay is not None
    while backend.relay.relay_once():
        pass


def every_event_type(backend: Backend) -> None:
    service = backend.service
    service.set_policy("org-a", mode=Mode.ON_DEMAND_UIS, changed_by="admin")
    service.set_policy("org-b", mode=Mode.ALWAYS_ON, changed_by="admin")
    service.set_policy("org-b", mode=Mode.ON_DEMAND, changed_by="admin", agent_id="ben")
    service.remove_override("org-b", "ben", changed_by="admin")
    service.start_call(call_id="c1", org_id="org-a", agent_id="ann", direction="inbound")
    for command in (Command.START, Command.PAUSE, Command.RESUME, Command.STOP,
                    Command.RESUME, Command.END):
        service.command("c1", command, by="ann")
    service.start_call(call_id="c2", org_id="org-b", agent_id="bob", direction="outbound")
    service.command("c2", Command.PAUSE, by="bob")
    service.transfer("c2", to_agent_id="cat", by="bob")


def test_every_event_type_round_trips_through_the_broker(kafka_settings: Settings,
                                                         kafka_bootstrap: str) -> None:
    # Started: the segment store must apply a call (read from the topic) before its audio
    # can be deleted.
    backend = build(replace(kafka_settings, audio_lateness_ms=200))
    backend.start()
    try:
        every_event_type(backend)
        drive_lifecycle(backend)
        assert backend.relay is not None and backend.relay.wait_caught_up(60)
        expected, _ = LocalFeed(backend.store).read(0, 1000)
    finally:
        backend.close()
    records = read_topic(kafka_bootstrap, kafka_settings.kafka_topic)
    got = sorted(decoded(records), key=lambda e: e.position)
    assert got == expected
    assert {e.type for e in got} == set(EVENT_TYPES)
    for record in records:
        event = decoded([record])[0]
        headers = dict(record.headers)
        assert record.key == event.key.encode()
        assert headers["event_type"] == event.type.encode()
        assert int(headers["position"]) == event.position


def test_relay_resumes_from_its_tracking_position(kafka_backend: Backend,
                                                  kafka_bootstrap: str) -> None:
    set_policies(kafka_backend.service)
    drive(kafka_backend.service, 20, seed=3)
    relay_all(kafka_backend)
    first = len(read_topic(kafka_bootstrap, kafka_backend.settings.kafka_topic))
    # A second relay over the same store starts where the first one stopped.
    again = build(kafka_backend.settings)
    try:
        relay_all(again)
        assert again.relay is not None and again.relay.stats.events == 0
    finally:
        again.close()
    assert len(read_topic(kafka_bootstrap, kafka_backend.settings.kafka_topic)) == first


def test_relay_killed_mid_batch_loses_nothing(kafka_settings: Settings, kafka_bootstrap: str,
                                              tmp_path: Path) -> None:
    backend = build(kafka_settings)
    set_policies(backend.service)
    drive(backend.service, 2500, seed=5, threads=16)
    head = backend.store.head()
    tracking = tracking_recorder(backend.store)
    env = kafka_env(kafka_settings)
    env["RECAUDIT_RELAY_BATCH"] = "500"
    positions_at_kill = []
    for kills in range(3):
        relay = start_cli(["relay"], env, tmp_path / "relay.log")
        wait_until(lambda p=relay: p.poll() is not None or
                   (tracking.max_tracking_id(backend.store.name) or 0) > 0, 60, "relay start")
        time.sleep(0.05 * (kills + 1))
        kill(relay)
        positions_at_kill.append(tracking.max_tracking_id(backend.store.name) or 0)
        if positions_at_kill[-1] >= head:
            break
    assert 0 < positions_at_kill[0] < head, "the relay was not killed part-way"
    relay = start_cli(["relay"], env, tmp_path / "relay.log")
    wait_until(lambda: (tracking.max_tracking_id(backend.store.name) or 0) >= head, 120,
               "relay to catch up")
    kill(relay, signal.SIGTERM)

    expected, _ = LocalFeed(backend.store).read(0, 1_000_000)
    events = decoded(read_topic(kafka_bootstrap, kafka_settings.kafka_topic, timeout=60))
    assert {e.position for e in events} == {e.position for e in expected}, "an event was lost"
    check_per_call_order(events)
    # The consumers absorb the duplicates: same state as a clean run.
    consumer = CallStatesConsumer(tmp_path / "from-kafka.sqlite")
    consumer.apply(events)
    assert consumer.snapshot() == clean_run_states(backend.service, tmp_path / "clean.sqlite")
    consumer.close()
    backend.close()


def test_consumer_killed_mid_batch_converges(kafka_settings: Settings, kafka_bootstrap: str,
                                             tmp_path: Path) -> None:
    backend = build(kafka_settings)
    set_policies(backend.service)
    drive(backend.service, 1500, seed=6, threads=16)
    relay_all(backend)
    head_state = clean_run_states(backend.service, tmp_path / "clean.sqlite")
    states = tmp_path / "consumers" / "call-states.sqlite"
    env = kafka_env(kafka_settings)
    env["RECAUDIT_CONSUMER_BATCH"] = "200"
    log = tmp_path / "consume.log"
    part_way = []
    for delay in (0.05, 0.1, 0.2):
        consumer = start_cli(["consume", "call-states"], env, log)
        wait_until(lambda p=consumer: p.poll() is not None or _rows(states) > 0, 60,
                   "consumer start")
        time.sleep(delay)
        kill(consumer)
        part_way.append(_snapshot(states) != head_state)
    assert part_way[0], "the consumer was not killed part-way"
    started = log.read_text().count("reading")
    consumer = start_cli(["consume", "call-states"], env, log)
    try:
        wait_until(lambda: log.read_text().count("reading") > started, 60, "consumer start")
        wait_until(lambda: _snapshot(states) == head_state, 120, "consumer to converge")
    finally:
        kill(consumer, signal.SIGTERM)
    assert consumer.returncode == 0
    backend.close()


def test_rebalancing_between_consumers_loses_nothing(kafka_settings: Settings,
                                                      kafka_bootstrap: str,
                                                      tmp_path: Path) -> None:
    backend = build(kafka_settings)
    set_policies(backend.service)
    drive(backend.service, 4000, seed=12, threads=16)
    relay_all(backend)
    expected = clean_run_states(backend.service, tmp_path / "clean.sqlite")
    states = tmp_path / "consumers" / "call-states.sqlite"
    env = kafka_env(kafka_settings)
    env["RECAUDIT_CONSUMER_BATCH"] = "100"
    first = start_cli(["consume", "call-states"], env, tmp_path / "first.log")
    wait_until(lambda: first.poll() is not None or _rows(states) > 0, 60, "first consumer")
    second = start_cli(["consume", "call-states"], env, tmp_path / "second.log")
    time.sleep(0.5)  # let the group rebalance onto both members while work is in progress
    kill(first)  # the survivor takes over its partitions after the session times out
    assert _snapshot(states) != expected, "the first consumer finished before the rebalance"
    try:
        wait_until(lambda: _snapshot(states) == expected, 120, "survivor to converge")
    finally:
        kill(second, signal.SIGTERM)
    backend.close()


def test_poison_message_goes_to_the_dead_letter_topic(kafka_backend: Backend,
                                                      kafka_bootstrap: str,
                                                      tmp_path: Path) -> None:
    settings = kafka_backend.settings
    every_event_type(kafka_backend)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(settings.kafka_topic, key=b"c1", value=b"\x00not avro at all").get(30)
    producer.send(settings.kafka_topic, key=b"c9", value=b"\xc3\x01" + b"\x07" * 8 + b"x").get(30)
    producer.close()
    relay_all(kafka_backend)
    feed = KafkaFeed(kafka_bootstrap, settings.kafka_topic, settings.kafka_dlq_topic,
                     codec=Codec.from_package())
    consumer = CallStatesConsumer(tmp_path / "states.sqlite")
    runner = ConsumerRunner(feed, consumer)
    thread = runner.start()
    expected = clean_run_states(kafka_backend.service, tmp_path / "clean.sqlite")
    try:
        wait_until(lambda: consumer.snapshot() == expected, 60, "valid events applied")
        wait_until(lambda: feed.dead_letters.count == 2, 30, "two dead letters")
    finally:
        runner.stop.set()
        thread.join(30)
    dead = read_topic(kafka_bootstrap, settings.kafka_dlq_topic)
    assert sorted(r.value for r in dead) == [b"\x00not avro at all",
                                             b"\xc3\x01" + b"\x07" * 8 + b"x"]
    assert {dict(r.headers)["error.type"] for r in dead} == {b"NotSingleObject", b"UnknownSchema"}
    consumer.close()


def test_broker_outage_is_waited_out(kafka_backend: Backend, kafka_bootstrap: str,
                                     tmp_path: Path) -> None:
    """The outage outlasts the relay's delivery timeout (shortened here from 30 s to 3 s),
    so batches sent during it fail for good and must be sent again once the broker is
    back: a relay that counted them as sent would lose them."""
    scripts_dir = Path(__file__).resolve().parents[2] / "scripts"
    script_env = {**os.environ, "PYTHON": sys.executable}
    relay = kafka_backend.relay
    assert relay is not None
    relay.producer_settings = {"delivery_timeout_ms": 3000, "request_timeout_ms": 2000}
    set_policies(kafka_backend.service)
    kafka_backend.start()
    drive(kafka_backend.service, 50, seed=8, prefix="before")
    kafka_sh = str(scripts_dir / "kafka.sh")
    subprocess.run([kafka_sh, "stop"], check=True, env=script_env, timeout=90)
    try:
        drive(kafka_backend.service, 50, seed=9, prefix="during")
        time.sleep(8)  # past the delivery timeout: the relay and consumer keep retrying
    finally:
        subprocess.run([kafka_sh, "start"], check=True, env=script_env, timeout=120)
        subprocess.run([kafka_sh, "wait-ready"], check=True, env=script_env, timeout=150)
    drive(kafka_backend.service, 50, seed=10, prefix="after")
    expected = clean_run_states(kafka_backend.service, tmp_path / "clean.sqlite")
    states = kafka_backend.pipeline.consumer("call-states")
    assert isinstance(states, CallStatesConsumer)
    wait_until(lambda: states.snapshot() == expected, 180, "consumer to catch up after outage")
    assert relay.stats.errors > 0  # deliveries did fail, and were sent again


def _rows(path: Path) -> int:
    return len(_snapshot(path))


_snapshot = states_snapshot
