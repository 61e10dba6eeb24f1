"""The Avro codec: real events of every type round-trip, a downstream team can decode them
with fastavro and the .avsc files alone, and bad messages fail with the right error."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import to_parsing_canonical_form

from domain.clock import system_clock
from domain.published import EVENT_TYPES, FIELDS, PublishedEvent
from domain.rules import Command, Mode, PauseBehavior
from recaudit.adapters.kafka.codec import (
    Codec,
    CodecError,
    NotSingleObject,
    UndecodableDatum,
    UnencodableEvent,
    UnknownSchema,
)
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import build
from recaudit.core.service import RecordingService
from recaudit.settings import Settings
from schemas import parsing_fingerprint
from tests.lifecycle_events import drive_lifecycle

codec = Codec.from_package()
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
ORG = "org-codec"

# -- real events from the real domain -------------------------------------------------------

Step = tuple[Command, datetime | None]  # None: the next tick of the script's clock


def drive_every_mode(service: RecordingService) -> None:
    """Policies for each mode, one call per mode, and every kind of refusal."""
    base = system_clock() - timedelta(hours=1)
    ticks = itertools.count(1)

    def tick() -> datetime:
        return base + timedelta(seconds=next(ticks), milliseconds=next(ticks))

    service.set_policy(ORG, mode=Mode.ON_DEMAND_UIS, changed_by="admin")
    service.set_policy(ORG, mode=Mode.ALWAYS_ON, changed_by="admin", reason="regulated desk",
                       agent_id="agent-always", pause_behavior=PauseBehavior.SILENCE)
    service.set_policy(ORG, mode=Mode.PAUSE_RESUME, changed_by="admin", agent_id="agent-pr")
    service.set_policy(ORG, mode=Mode.ON_DEMAND, changed_by="admin", agent_id="agent-od")
    service.set_policy(ORG, mode=Mode.ALWAYS_ON, changed_by="admin", agent_id="agent-gone")
    service.remove_override(ORG, "agent-gone", changed_by="admin", reason="left the desk")
    future = system_clock() + timedelta(hours=1)
    scripts: dict[str, list[Step]] = {
        "agent-always": [(Command.PAUSE, None), (Command.END, None), (Command.PAUSE, None)],
        "agent-pr": [(Command.PAUSE, None), (Command.RESUME, None), (Command.RESUME, None),
                     (Command.PAUSE, None), (Command.END, None)],
        "agent-od": [(Command.STOP, None), (Command.END, None)],
        "agent-uis": [(Command.START, None), (Command.PAUSE, base), (Command.PAUSE, None),
                      (Command.STOP, None), (Command.START, future), (Command.START, None),
                      (Command.END, None)],
    }
    for n, (agent, steps) in enumerate(scripts.items()):
        call_id = f"call-{n}"
        service.start_call(call_id=call_id, org_id=ORG, agent_id=agent,
                           direction=("inbound", "outbound")[n % 2], at=tick(),
                           command_id=f"{call_id}-start")
        for i, (command, at) in enumerate(steps):
            service.command(call_id, command, by=agent, at=at or tick(),
                            command_id=f"{call_id}-{i}" if i % 2 else None)
    # Transfers: one with a command id, one without; one refused (to the agent who has it).
    service.start_call(call_id="call-t", org_id=ORG, agent_id="agent-od", direction="inbound",
                       at=tick())
    service.transfer("call-t", to_agent_id="agent-od-2", by="sup", at=tick(), command_id="t-1")
    service.transfer("call-t", to_agent_id="agent-od-2", by="sup", at=tick())
    service.transfer("call-t", to_agent_id="agent-od", by="agent-od-2", at=tick())
    # Starting a call that already exists is refused on that call.
    service.start_call(call_id="call-0", org_id=ORG, agent_id="agent-always",
                       direction="inbound", at=tick())


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> list[PublishedEvent]:
    settings = Settings.from_env({"RECAUDIT_AUDIO_LATENESS_MS": "200"},
                                 data_dir=tmp_path_factory.mktemp("codec"))
    backend = build(settings)
    backend.start()  # the segment store must apply calls before their audio is deleted
    try:
        drive_every_mode(backend.service)
        drive_lifecycle(backend)
        events, _ = LocalFeed(backend.store).read(0, 1000)
    finally:
        backend.close()
    return events


def at_wire_precision(event: PublishedEvent) -> PublishedEvent:
    """The event as a message carries it: recorded_at cut to the millisecond."""
    recorded_at = event.recorded_at.replace(
        microsecond=event.recorded_at.microsecond - event.recorded_at.microsecond % 1000
    )
    return dataclasses.replace(event, recorded_at=recorded_at)


def test_the_scenario_covers_every_type_value_and_null(published: list[PublishedEvent]) -> None:
    assert {e.type for e in published} == set(EVENT_TYPES)
    rejected = [e.fields for e in published if e.type == "CommandRejected"]
    assert {r["code"] for r in rejected} == {
        "call_ended", "not_permitted", "invalid_state", "out_of_order", "future_timestamp",
        "legal_hold",
    }
    assert "start_call" in {r["command"] for r in rejected}
    assert ("delete", "legal_hold") in {(r["command"], r["code"]) for r in rejected}
    for event_type, name in [("PolicySet", "agent_id"), ("PolicySet", "reason"),
                             ("CallEnded", "recording_no"), ("CommandRejected", "command_id"),
                             ("RecordingPaused", "command_id"), ("RetentionSet", "audio_days"),
                             ("RetentionSet", "reason"), ("LegalHoldPlaced", "call_id"),
                             ("LegalHoldPlaced", "agent_id"), ("LegalHoldPlaced", "reason"),
                             ("RecordAccessed", "recording_no"),
                             ("RecordAccessed", "role")]:
        values = [e.fields[name] for e in published if e.type == event_type]
        assert None in values and any(v is not None for v in values), (event_type, name)


def test_every_published_event_round_trips(published: list[PublishedEvent]) -> None:
    for event in published:
        decoded = codec.decode(codec.encode(event))
        assert decoded == at_wire_precision(event)
        assert decoded.fields.keys() == set(FIELDS[event.type])


def test_decoded_times_are_aware_utc(published: list[PublishedEvent]) -> None:
    for event in published:
        decoded = codec.decode(codec.encode(event))
        for moment in (decoded.recorded_at, decoded.at):
            assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def test_a_time_with_another_offset_is_written_as_the_same_instant() -> None:
    paris = datetime(2026, 3, 1, 10, 30, 0, 250_000, tzinfo=timezone(timedelta(hours=1)))
    decoded = codec.decode(codec.encode(sample_event(at=paris)))
    assert decoded.at == paris
    assert (decoded.at.utcoffset(), decoded.at.hour) == (timedelta(0), 9)


def test_messages_use_the_single_object_framing(published: list[PublishedEvent]) -> None:
    for event in published:
        message = codec.encode(event)
        assert message[:2] == b"\xc3\x01"
        assert message[2:10] == codec.fingerprint_of(event.type)


def test_headers_name_the_type_position_and_schema(published: list[PublishedEvent]) -> None:
    event = published[-1]
    message = codec.encode(event)
    assert codec.headers_for(event) == [
        ("event_type", event.type.encode()),
        ("position", str(event.position).encode()),
        ("schema_fingerprint", message[2:10].hex().encode()),
    ]


def test_fingerprints_differ_between_types() -> None:
    assert len({codec.fingerprint_of(t) for t in EVENT_TYPES}) == len(EVENT_TYPES)


# -- what a downstream team does: the README's Python example, fastavro and the .avsc files ---


def readme_example() -> dict[str, Any]:
    """The Python example of schemas/README.md, run as written (it uses no recaudit code)."""
    readme = SCHEMA_DIR / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text("utf-8"), re.DOTALL)
    assert len(blocks) == 1, "schemas/README.md should have one Python example"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(readme), "exec"), namespace)
    return namespace


def test_the_readme_example_decodes_every_message(published: list[PublishedEvent]) -> None:
    example = readme_example()
    writers, readers = example["load_schemas"](SCHEMA_DIR)
    assert sorted(readers) == sorted(EVENT_TYPES)
    for event in published:
        record = example["decode"](codec.encode(event), writers, readers)
        expected = at_wire_precision(event)
        assert record == {
            "position": expected.position,
            "key": expected.key,
            "version": expected.version,
            "recorded_at": expected.recorded_at,
            **expected.fields,
        }


def test_the_readme_example_refuses_what_is_not_ours(published: list[PublishedEvent]) -> None:
    example = readme_example()
    writers, readers = example["load_schemas"](SCHEMA_DIR)
    message = codec.encode(published[0])
    with pytest.raises(ValueError, match="not an Avro single-object message"):
        example["decode"](b"\x00\x01" + message[2:], writers, readers)
    with pytest.raises(LookupError, match="unknown schema 0000000000000000"):
        example["decode"](message[:2] + bytes(8) + message[10:], writers, readers)


# -- the fingerprint, checked against the Avro specification's test vectors -----------------


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO as the Avro specification defines it, written out independently."""
    empty = 0xC15D213AA4D7A795
    table = []
    for index in range(256):
        value = index
        for _ in range(8):
            value = (value >> 1) ^ (empty if value & 1 else 0)
        table.append(value)
    result = empty
    for byte in data:
        result = (result >> 8) ^ table[(result ^ byte) & 0xFF]
    return result


def as_wire_bytes(signed: int) -> bytes:
    """The specification lists fingerprints as signed longs; messages carry them little-endian."""
    return signed.to_bytes(8, "little", signed=True)


@pytest.mark.parametrize(
    ("canonical", "expected"),
    [
        ('"null"', 7195948357588979594),
        ('"boolean"', -6970731678124411036),
        ('{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
        ('{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
         7843277075252814651),
    ],
)
def test_crc64_avro_matches_the_specification_vectors(canonical: str, expected: int) -> None:
    assert crc64_avro(canonical.encode()).to_bytes(8, "little") == as_wire_bytes(expected)


def test_the_codec_fingerprint_matches_a_specification_vector() -> None:
    schema = {"type": "record", "name": "foo", "doc": "docs are not part of the fingerprint",
              "fields": [{"name": "f1", "type": "boolean", "doc": "nor here"}]}
    assert parsing_fingerprint(schema) == as_wire_bytes(7843277075252814651)


def test_every_event_fingerprint_is_crc64_of_the_canonical_form() -> None:
    for event_type in EVENT_TYPES:
        raw = json.loads((SCHEMA_DIR / f"{event_type}.avsc").read_text("utf-8"))
        canonical = to_parsing_canonical_form(raw)
        assert canonical.startswith(f'{{"name":"io.recaudit.events.{event_type}"')
        assert "doc" not in canonical and "logicalType" not in canonical
        expected = crc64_avro(canonical.encode()).to_bytes(8, "little")
        assert codec.fingerprint_of(event_type) == expected


# -- bad messages ----------------------------------------------------------------------------


def sample_event(**fields: Any) -> PublishedEvent:
    at = datetime(2026, 3, 1, 9, 30, 0, 125_000, tzinfo=UTC)
    values = {"call_id": "call-x", "org_id": ORG, "recording_no": 2, "at": at, "by": "agent-1",
              "command_id": "cmd-1"} | fields
    return PublishedEvent("RecordingPaused", 41, "call-x", 5, at, values)


@pytest.fixture
def message() -> bytes:
    return codec.encode(sample_event())


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\xc3\x01\x00\x01\x02"])
def test_too_short_is_not_a_single_object(data: bytes) -> None:
    with pytest.raises(NotSingleObject, match=f"at least 10 bytes, got {len(data)}"):
        codec.decode(data)


@pytest.mark.parametrize("marker", [b"\xc3\x02", b"\x00\x01", b"Ob"])
def test_a_wrong_marker_is_not_a_single_object(message: bytes, marker: bytes) -> None:
    with pytest.raises(NotSingleObject, match=f"starts with c301, got {marker.hex()}"):
        codec.decode(marker + message[2:])


def test_an_object_container_file_is_not_a_single_object(message: bytes) -> None:
    with pytest.raises(NotSingleObject):
        codec.decode(b"Obj\x01" + message)


def test_an_unknown_fingerprint_is_an_unknown_schema(message: bytes) -> None:
    stranger = bytes.fromhex("0123456789abcdef")
    with pytest.raises(UnknownSchema, match="0123456789abcdef") as caught:
        codec.decode(message[:2] + stranger + message[10:])
    assert caught.value.fingerprint == stranger


def truncations(message: bytes) -> Iterator[bytes]:
    return (message[:cut] for cut in range(10, len(message)))


def test_every_truncated_datum_is_undecodable(message: bytes) -> None:
    for cut in truncations(message):
        with pytest.raises(UndecodableDatum, match="cannot read a RecordingPaused datum"):
            codec.decode(cut)


def test_trailing_bytes_are_undecodable(message: bytes) -> None:
    with pytest.raises(UndecodableDatum, match="2 bytes left over"):
        codec.decode(message + b"\x00\x00")


def test_a_string_that_is_not_utf8_is_undecodable() -> None:
    message = codec.encode(sample_event(by="zz"))
    with pytest.raises(UndecodableDatum):
        codec.decode(message.replace(b"\x04zz", b"\x04\xff\xfe"))


def test_every_codec_error_shares_one_root() -> None:
    for error in (NotSingleObject, UnknownSchema, UndecodableDatum, UnencodableEvent):
        assert issubclass(error, CodecError)


# -- events that cannot be written ------------------------------------------------------------


def test_an_unknown_type_cannot_be_encoded() -> None:
    event = dataclasses.replace(sample_event(), type="RecordingRewound")
    with pytest.raises(UnencodableEvent, match="no schema for event type 'RecordingRewound'"):
        codec.encode(event)
    with pytest.raises(UnencodableEvent):
        codec.fingerprint_of("RecordingRewound")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"by": None}, "by"),
        ({"recording_no": 2**31}, "recording_no"),
        ({"recording_no": -(2**31) - 1}, "recording_no"),
        ({"recording_no": 1.5}, "recording_no"),
        ({"command_id": 5}, "command_id"),
        ({"extra": "x"}, "more fields than the schema"),
        ({"at": datetime(2026, 3, 1, 9, 30)}, "without a UTC offset"),
    ],
)
def test_fields_that_do_not_fit_cannot_be_encoded(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(UnencodableEvent, match=reason):
        codec.encode(sample_event(**fields))


def test_a_missing_field_cannot_be_encoded() -> None:
    event = sample_event()
    del event.fields["by"]
    with pytest.raises(UnencodableEvent, match="by"):
        codec.encode(event)


def test_envelope_values_that_do_not_fit_cannot_be_encoded() -> None:
    for change in ({"position": 1.5}, {"position": 2**63}, {"version": 2**31}, {"key": None}):
        with pytest.raises(UnencodableEvent, match=next(iter(change))):
            codec.encode(dataclasses.replace(sample_event(), **change))


def test_a_boolean_field_takes_only_booleans() -> None:
    started = dataclasses.replace(sample_event(automatic=True), type="RecordingStarted")
    assert codec.decode(codec.encode(started)).fields["automatic"] is True
    with pytest.raises(UnencodableEvent, match="automatic"):
        codec.encode(dataclasses.replace(started, fields=started.fields | {"automatic": "yes"}))
