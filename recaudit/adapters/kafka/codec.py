"""Published events as Avro single-object messages, the value of every Kafka record.

A message is the two-byte marker C3 01, the 8-byte CRC-64-AVRO fingerprint of
the writer schema's Parsing Canonical Form (little-endian, as the Avro
specification lays it out), then the Avro binary datum. To decode, the writer
schema is found by its fingerprint among the current and every released schema
(`schemas/`), and resolved against the current schema of the event's type: a
field added since the writer's version reads as its default, a field the
reader does not know is skipped. See schemas/README.md for the whole contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer

import schemas
from domain.published import PublishedEvent
from recaudit.adapters.kafka.compiled import (
    ENVELOPE,
    EPOCH,
    INT_RANGE,
    LONG_RANGE,
    MILLISECOND,
    Reader,
    Unsupported,
    Writer,
    compile_reader,
    compile_writer,
)
from schemas import parsing_fingerprint

MARKER = b"\xc3\x01"
FINGERPRINT_SIZE = 8
PREFIX_SIZE = len(MARKER) + FINGERPRINT_SIZE
NAMESPACE = "io.recaudit.events"

HEADER_EVENT_TYPE = "event_type"
HEADER_POSITION = "position"
HEADER_FINGERPRINT = "schema_fingerprint"

CURRENT = "current"

Check = Callable[[Any], bool]


class CodecError(Exception):
    """Root of the codec's errors; also raised when the schema files are inconsistent."""


class NotSingleObject(CodecError):
    """The bytes are not an Avro single-object message (too short, wrong marker).

    Not ours, or corrupt: dead-letter it; retrying cannot help.
    """


class UnknownSchema(CodecError):
    """The message's writer schema is not one this process knows.

    Either the producer runs a newer schema than this consumer (upgrade the
    consumer, then replay the dead letters) or the message is foreign.
    """

    def __init__(self, schema_fingerprint: bytes) -> None:
        super().__init__(
            f"no known schema has fingerprint {schema_fingerprint.hex()}: the message was "
            "written with a schema newer than this reader's, or by another application"
        )
        self.fingerprint = schema_fingerprint


class UndecodableDatum(CodecError):
    """The datum after the prefix does not match its writer schema (truncated, corrupt).

    Dead-letter it; retrying cannot help.
    """


class UnencodableEvent(CodecError):
    """An event cannot be written: its type has no schema or its fields do not fit it.

    A bug on the producing side: do not publish, fix the code or the schema.
    """


@dataclass(frozen=True)
class KnownSchema:
    """One schema of one event type, with the fingerprint that names it in messages."""

    event_type: str
    fingerprint: bytes
    parsed: Any
    origin: str
    checks: tuple[tuple[str, Check, str], ...] = ()
    definition: Mapping[str, Any] = field(default_factory=dict, compare=False)


def _known(event_type: str, schema: Mapping[str, Any], origin: str) -> KnownSchema:
    if schema.get("name") != event_type or schema.get("namespace") != NAMESPACE:
        raise CodecError(
            f"schema file {origin}/{event_type}.avsc names {schema.get('namespace')}."
            f"{schema.get('name')}, expected {NAMESPACE}.{event_type}"
        )
    parsed = parse_schema(dict(schema), named_schemas={})
    checks = tuple((f["name"], _accepts(f["type"]), str(f["type"])) for f in schema["fields"])
    return KnownSchema(event_type, parsing_fingerprint(schema), parsed, origin, checks,
                       dict(schema))


_PRIMITIVES: dict[str, Check] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "int": lambda v: type(v) is int and INT_RANGE[0] <= v <= INT_RANGE[1],
    "long": lambda v: type(v) is int and LONG_RANGE[0] <= v <= LONG_RANGE[1],
    "string": lambda v: isinstance(v, str),
}


def _accepts(kind: Any) -> Check:
    """A quick check that a value fits an Avro type. fastavro's writer alone would write
    a float into a long, any truthy value as a boolean and an int of any size."""
    if isinstance(kind, list):
        branches = [_accepts(branch) for branch in kind]
        return lambda v: any(accepts(v) for accepts in branches)
    if isinstance(kind, dict):
        return _accepts(kind["type"])
    check = _PRIMITIVES.get(kind)
    if check is None:
        raise CodecError(f"the codec has no check for Avro type {kind!r}; add one")
    return check


class SchemaRegistry:
    """The current schema of each type, and every schema a message may have been written with."""

    def __init__(
        self,
        current: Mapping[str, Mapping[str, Any]],
        released: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._current = {t: _known(t, s, CURRENT) for t, s in current.items()}
        self._writers = {known.fingerprint: known for known in self._current.values()}
        for version, schema_set in (released or {}).items():
            for event_type, schema in schema_set.items():
                if event_type not in self._current:
                    raise CodecError(
                        f"released/{version}/{event_type}.avsc has no current schema: "
                        "event types are never removed"
                    )
                known = _known(event_type, schema, f"released/{version}")
                self._writers.setdefault(known.fingerprint, known)

    @classmethod
    def from_package(cls) -> SchemaRegistry:
        """The schemas shipped in the `schemas` package: current and all released sets."""
        released = {v: schemas.released(v) for v in schemas.released_versions()}
        return cls(schemas.current(), released)

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(self._current)

    @property
    def writers(self) -> Mapping[bytes, KnownSchema]:
        return dict(self._writers)

    def current(self, event_type: str) -> KnownSchema:
        known = self._current.get(event_type)
        if known is None:
            raise UnencodableEvent(
                f"no schema for event type {event_type!r}; known types: {self.event_types}"
            )
        return known

    def writer(self, schema_fingerprint: bytes) -> KnownSchema:
        known = self._writers.get(schema_fingerprint)
        if known is None:
            raise UnknownSchema(schema_fingerprint)
        return known


class Codec:
    """Encodes and decodes published events with the schemas of one registry.

    Built once by the composition root and handed to the relay and the feeds.
    """

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._type_headers: dict[str, tuple[bytes, bytes]] = {}
        # Generated functions for the current schemas (`compiled`): the fast paths.
        self._writers: dict[str, Writer] = {}
        self._readers: dict[bytes, Reader] = {}
        for event_type in registry.event_types:
            known = registry.current(event_type)
            try:
                writer = compile_writer(known.definition, MARKER + known.fingerprint)
                reader = compile_reader(known.definition, event_type, PREFIX_SIZE)
            except Unsupported:  # a type they do not handle: that schema keeps fastavro only
                continue
            self._writers[event_type] = writer
            self._readers[known.fingerprint] = reader

    @classmethod
    def from_package(cls) -> Codec:
        """The codec of the schemas shipped with the project (`schemas/`)."""
        return cls(SchemaRegistry.from_package())

    def encode(self, event: PublishedEvent) -> bytes:
        """The single-object Avro message of `event`, with its type's current schema."""
        write = self._writers.get(event.type)
        if write is not None:
            message = write(event)
            if message is not None:
                return message
        return self._encode_reference(event)

    def _encode_reference(self, event: PublishedEvent) -> bytes:
        """`encode` through fastavro: any event the generated writer does not plainly take,
        written or refused with the reason."""
        known = self.registry.current(event.type)
        buffer = BytesIO()
        buffer.write(MARKER)
        buffer.write(known.fingerprint)
        datum = _datum(event)
        _check(event, datum, known)
        try:
            # strict=True refuses missing and extra fields; _check refused bad values.
            schemaless_writer(buffer, known.parsed, datum, strict=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise UnencodableEvent(
                f"{event.type} at position {event.position} does not fit its schema: {exc}"
            ) from exc
        return buffer.getvalue()

    def decode(self, data: bytes) -> PublishedEvent:
        """The event in a single-object message; datetimes are timezone-aware UTC."""
        if data[:2] == MARKER:
            read = self._readers.get(data[2:PREFIX_SIZE])
            if read is not None:
                event = read(data)
                if event is not None:
                    return event
        return self._decode_reference(data)

    def _decode_reference(self, data: bytes) -> PublishedEvent:
        """`decode` through fastavro: messages of older schemas, and any message the
        generated reader does not plainly read, read or refused with the reason."""
        writer = self.registry.writer(_unframe(data))
        reader = self.registry.current(writer.event_type)
        record = _read(data[PREFIX_SIZE:], writer, reader)
        return _event(writer.event_type, record)

    def fingerprint_of(self, event_type: str) -> bytes:
        """The 8-byte fingerprint of the current schema of `event_type`, as messages carry it."""
        return self.registry.current(event_type).fingerprint

    def headers_for(self, event: PublishedEvent) -> list[tuple[str, bytes]]:
        """The Kafka headers of `event`: its type, its position and its schema's fingerprint."""
        cached = self._type_headers.get(event.type)
        if cached is None:
            cached = (event.type.encode("utf-8"),
                      self.fingerprint_of(event.type).hex().encode("ascii"))
            self._type_headers[event.type] = cached
        return [
            (HEADER_EVENT_TYPE, cached[0]),
            (HEADER_POSITION, str(event.position).encode("ascii")),
            (HEADER_FINGERPRINT, cached[1]),
        ]

    def knows(self, event_type: str) -> bool:
        """Whether this codec has a schema for `event_type` (unknown types are newer ones)."""
        return event_type in self.registry.event_types


def _datum(event: PublishedEvent) -> dict[str, Any]:
    envelope = {
        "position": event.position,
        "key": event.key,
        "version": event.version,
        "recorded_at": event.recorded_at,
    }
    return {name: _wire(name, value) for name, value in (envelope | event.fields).items()}


def _wire(name: str, value: Any) -> Any:
    """Datetimes as whole milliseconds since the epoch; naive ones are refused."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise UnencodableEvent(f"field {name!r} is a datetime without a UTC offset: {value}")
    return (value - EPOCH) // MILLISECOND


def _check(event: PublishedEvent, datum: dict[str, Any], known: KnownSchema) -> None:
    for name, accepts, kind in known.checks:
        if name in datum and not accepts(datum[name]):
            raise UnencodableEvent(
                f"{event.type} at position {event.position} does not fit its schema: "
                f"field {name!r} is {datum[name]!r}, not of Avro type {kind}"
            )


def _unframe(data: bytes) -> bytes:
    """The writer schema's fingerprint, after checking the single-object prefix."""
    if len(data) < PREFIX_SIZE:
        raise NotSingleObject(
            f"a single-object message has at least {PREFIX_SIZE} bytes, got {len(data)}"
        )
    if data[: len(MARKER)] != MARKER:
        raise NotSingleObject(
            f"a single-object message starts with {MARKER.hex()}, got {data[:2].hex()}"
        )
    return bytes(data[len(MARKER) : PREFIX_SIZE])


def _read(body: bytes, writer: KnownSchema, reader: KnownSchema) -> dict[str, Any]:
    stream = BytesIO(body)
    resolve_with = None if writer.fingerprint == reader.fingerprint else reader.parsed
    try:
        record = cast(dict[str, Any], schemaless_reader(stream, writer.parsed, resolve_with))
    except Exception as exc:  # any failure to parse untrusted bytes is the datum's
        raise UndecodableDatum(
            f"cannot read a {writer.event_type} datum of {len(body)} bytes written with "
            f"schema {writer.fingerprint.hex()} ({writer.origin}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    left = len(body) - stream.tell()
    if left:
        raise UndecodableDatum(
            f"{left} bytes left over after a {writer.event_type} datum of "
            f"{stream.tell()} bytes: the message is corrupt"
        )
    return record


def _event(event_type: str, record: dict[str, Any]) -> PublishedEvent:
    return PublishedEvent(
        type=event_type,
        position=record["position"],
        key=record["key"],
        version=record["version"],
        recorded_at=record["recorded_at"],
        fields={k: v for k, v in record.items() if k not in ENVELOPE},
    )
