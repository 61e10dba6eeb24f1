"""The compliance lifecycle's events on a real broker: through the relay with their keys
and fields, and through the Kafka feed into every consumer (the projection's `events`
table, the segment store deleting audio, the call states left alone by reads)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from consumers.call_states import CallStatesConsumer
from domain.published import FIELDS, PublishedEvent, stream_kind
from projections.rows import EVENT_COLUMNS
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import Backend, build
from recaudit.settings import Settings
from tests.kafka.helpers import check_per_call_order, decoded, read_topic
from tests.lifecycle_events import LIFECYCLE_TYPES, drive_lifecycle
from tests.support import wait_until
from tests.workload import clean_run_states

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse]

ORG = "org-kafka-life"
KEY_OF = {"RecordingDeleted": "call_id", "RecordAccessed": "call_id",
          "RetentionSet": "org_id", "LegalHoldPlaced": "org_id", "LegalHoldReleased": "org_id"}


@pytest.fixture
def started(kafka_settings: Settings) -> Iterator[Backend]:
    """A backend on Kafka with its relay and its consumers running (they read the topic)."""
    backend = build(replace(kafka_settings, audio_lateness_ms=200, projection_linger_ms=0))
    backend.start()
    try:
        drive_lifecycle(backend, ORG)
        assert backend.relay is not None and backend.relay.wait_caught_up(60)
        yield backend
    finally:
        backend.close()


def stored(backend: Backend) -> list[PublishedEvent]:
    events, _ = LocalFeed(backend.store).read(0, 10_000)
    return events


def test_each_lifecycle_type_round_trips_through_the_relay(started: Backend,
                                                           kafka_bootstrap: str) -> None:
    records = read_topic(kafka_bootstrap, started.settings.kafka_topic)
    got = sorted(decoded(records), key=lambda e: e.position)
    assert got == stored(started)
    lifecycle = [e for e in got if e.type in LIFECYCLE_TYPES]
    assert sorted({e.type for e in lifecycle}) == sorted(LIFECYCLE_TYPES)
    for record, event in zip(records, decoded(records), strict=True):
        if event.type not in LIFECYCLE_TYPES:
            continue
        assert record.key == event.fields[KEY_OF[event.type]].encode() == event.key.encode()
        assert dict(record.headers)["event_type"] == event.type.encode()
        assert set(event.fields) == set(FIELDS[event.type])
    check_per_call_order(got)
    # A call's reads share its key (and partition) but count their own versions.
    reads = [e for e in lifecycle if e.type == "RecordAccessed"]
    assert [e.version for e in reads if e.key == "life-erased"] == [2, 3, 4]
    assert {(e.fields["what"], e.fields["by"], e.fields["role"], e.fields["recording_no"])
            for e in reads} == {("timeline", "loopback", None, None),
                                ("recordings", "ivy", "auditor", None),
                                ("audio", "ivy", "auditor", 1),
                                ("evidence", "ada", "admin", None)}
    deleted = {e.key: e.fields for e in lifecycle if e.type == "RecordingDeleted"}
    assert {k: (f["reason"], f["by"]) for k, f in deleted.items()} == {
        "life-erased": ("erasure", "admin"), "life-silent": ("retention", "system")}
    assert all(len(f["sha256"]) == 64 for f in deleted.values())


def event_rows(backend: Backend) -> list[dict[str, Any]]:
    projections = backend.projections
    assert projections is not None
    result = projections.read_client().query(
        "SELECT * FROM {db:Identifier}.events FINAL WHERE type IN {types:Array(String)} "
        "ORDER BY position",
        parameters={"db": projections.database, "types": list(LIFECYCLE_TYPES)})
    return list(result.named_results())


def test_the_consumers_on_the_kafka_feed_apply_the_lifecycle_events(started: Backend,
                                                                    tmp_path: Path) -> None:
    projections, desk = started.projections, started.segments
    assert projections is not None and desk is not None
    head = started.store.head()
    wait_until(lambda: projections.reader.applied_position() >= head
               and desk.position() >= head, 60, "the Kafka-fed consumers to apply the head")
    expected = [e for e in stored(started) if e.type in LIFECYCLE_TYPES]
    rows = event_rows(started)
    assert [(r["position"], r["type"], r["stream"], r["key"], r["version"]) for r in rows] == [
        (e.position, e.type, stream_kind(e.type), e.key, e.version) for e in expected]
    for row, event in zip(rows, expected, strict=True):
        for name in FIELDS[event.type]:
            if name in EVENT_COLUMNS and name != "at":
                assert row[name] == event.fields[name], (event.type, name)
    # The segment store deleted the erased audio and kept the held one.
    documents = {d["recording_no"]: d for d in desk_recordings(started, "life-erased")}
    assert documents[1]["state"] == "deleted" and documents[1]["deleted_by"] == "admin"
    held = desk_recordings(started, "life-held")
    assert held[0]["state"] != "deleted"
    # Reads and policy events move no call: the call states equal a clean local pass.
    states = started.pipeline.consumer("call-states")
    assert isinstance(states, CallStatesConsumer)
    clean = clean_run_states(started.service, tmp_path / "clean.sqlite")
    wait_until(lambda: states.snapshot() == clean, 30, "the call states to match a clean pass")


def desk_recordings(backend: Backend, call_id: str) -> list[dict[str, Any]]:
    from consumers.segments import library

    assert backend.segments is not None
    return library.recordings(backend.segments, call_id)
