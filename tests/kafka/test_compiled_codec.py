"""The generated Avro writers and readers against fastavro, the reference, on every schema.

For generated events of every type (values at the edges of their Avro types, times
before the epoch and far after it, text beyond ASCII) the generated writer must give
the bytes fastavro gives, and the generated reader the event fastavro reads. Values a
generated writer does not plainly take, and damaged messages, must come out of the codec
exactly as out of the reference path: the same bytes, the same event, or the same error.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from domain.published import PublishedEvent
from recaudit.adapters.kafka.codec import PREFIX_SIZE, Codec, CodecError
from recaudit.adapters.kafka.compiled import Unsupported, compile_reader, compile_writer

codec = Codec.from_package()
CURRENT = schemas.current()
ENVELOPE = ("position", "key", "version", "recorded_at")
EXAMPLES = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

INTS = st.integers(-(2**31), 2**31 - 1)
LONGS = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=40)
# Whole milliseconds, as the store keeps them, from year 1 to 9999, in UTC or an offset.
TIMES = st.builds(
    lambda ms, minutes: (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))
    .astimezone(timezone(timedelta(minutes=minutes))),
    st.integers(-62_135_596_800_000 + 86_400_000, 253_402_300_799_999 - 86_400_000),
    st.integers(-12 * 60, 14 * 60))
PLAIN = {"null": st.none(), "boolean": st.booleans(), "int": INTS, "long": LONGS,
         "string": TEXT}


def values_of(avro_type: Any) -> st.SearchStrategy[Any]:
    if isinstance(avro_type, list):
        return st.one_of(*(values_of(branch) for branch in avro_type))
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType") == "timestamp-millis":
            return TIMES
        return values_of(avro_type["type"])
    return PLAIN[avro_type]


def events_of(event_type: str) -> st.SearchStrategy[PublishedEvent]:
    types = {f["name"]: f["type"] for f in CURRENT[event_type]["fields"]}
    fields = {name: values_of(t) for name, t in types.items() if name not in ENVELOPE}
    return st.builds(PublishedEvent, st.just(event_type), values_of(types["position"]),
                     values_of(types["key"]), values_of(types["version"]),
                     values_of(types["recorded_at"]), st.fixed_dictionaries(fields))


EVENTS = st.one_of(*(events_of(t) for t in sorted(CURRENT)))


def test_every_current_schema_has_a_generated_writer_and_reader() -> None:
    assert sorted(codec._writers) == sorted(CURRENT)
    assert sorted(codec._readers) == sorted(codec.fingerprint_of(t) for t in CURRENT)


@EXAMPLES
@given(EVENTS)
def test_generated_bytes_are_fastavros_and_read_back_as_fastavro_reads_them(
        event: PublishedEvent) -> None:
    written = codec._writers[event.type](event)
    assert written is not None, "a plainly writable event was given up"
    assert written == codec._encode_reference(event)
    read = codec._readers[written[2:PREFIX_SIZE]](written)
    assert read is not None, "a plainly readable message was given up"
    assert read == codec._decode_reference(written)
    assert codec.decode(written) == read


def outcome(action: Any) -> tuple[str, Any]:
    try:
        return "ok", action()
    except CodecError as exc:
        return type(exc).__name__, str(exc)


# Values of the wrong type, out of range, naive or odd times: the reference decides.
ODD = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                TEXT, st.text(alphabet=st.characters(categories=["Cs"]), min_size=1),
                st.datetimes(), TIMES, st.binary(max_size=4))


@EXAMPLES
@given(EVENTS, st.data())
def test_an_event_given_up_comes_out_as_the_reference_path_gives_it(
        event: PublishedEvent, data: st.DataObject) -> None:
    names = sorted(event.fields)
    field = data.draw(st.sampled_from([*ENVELOPE, *names, "extra", "missing"]))
    if field in ENVELOPE:
        event = dataclasses.replace(event, **{field: data.draw(ODD)})
    elif field == "missing":
        if names:
            del event.fields[data.draw(st.sampled_from(names))]
    else:
        event.fields[field] = data.draw(ODD)
    assert outcome(lambda: codec.encode(event)) == outcome(lambda: codec._encode_reference(event))


@EXAMPLES
@given(EVENTS, st.data())
def test_a_damaged_message_decodes_as_the_reference_path_decodes_it(
        event: PublishedEvent, data: st.DataObject) -> None:
    message = bytearray(codec.encode(event))
    damage = data.draw(st.sampled_from(["cut", "extend", "flip"]))
    if damage == "cut":
        message = message[: data.draw(st.integers(PREFIX_SIZE, len(message) - 1))]
    elif damage == "extend":
        message += data.draw(st.binary(min_size=1, max_size=6))
    else:
        at = data.draw(st.integers(PREFIX_SIZE, len(message) - 1))
        message[at] = data.draw(st.integers(0, 255))
    damaged = bytes(message)
    assert outcome(lambda: codec.decode(damaged)) == outcome(
        lambda: codec._decode_reference(damaged))


def test_a_message_of_an_older_schema_is_resolved_by_the_reference_path() -> None:
    version = schemas.released_versions()[0]
    old = schemas.released(version)["CallStarted"]
    prefix = b"\xc3\x01" + schemas.parsing_fingerprint(old)
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    names = [f["name"] for f in old["fields"] if f["name"] not in ENVELOPE]
    values = {"call_id": "c1", "org_id": "o", "agent_id": "a", "direction": "inbound",
              "mode": "always_on", "policy_version": 1, "pause_behavior": "skip", "at": at,
              "by": "a", "command_id": None}
    event = PublishedEvent("CallStarted", 7, "c1", 1, at, {n: values[n] for n in names})
    written = compile_writer(old, prefix)(event)
    assert written is not None
    assert prefix[2:] not in codec._readers  # no generated reader for an older schema
    decoded = codec.decode(written)
    assert decoded == codec._decode_reference(written)
    assert decoded.fields["max_pause_ms"] is None  # added since: its default


@pytest.mark.parametrize("avro_type", ["float", "bytes", {"type": "array", "items": "int"},
                                       {"type": "int", "logicalType": "date"},
                                       ["null", "string", "string"]])
def test_a_schema_with_another_type_gets_no_generated_function(avro_type: Any) -> None:
    schema = {"type": "record", "name": "Odd", "fields": [
        {"name": "position", "type": "long"}, {"name": "key", "type": "string"},
        {"name": "version", "type": "int"},
        {"name": "recorded_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "odd", "type": avro_type}]}
    with pytest.raises(Unsupported):
        compile_writer(schema, b"")
    with pytest.raises(Unsupported):
        compile_reader(schema, "Odd", 0)
