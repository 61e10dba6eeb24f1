"""Straight-line Avro writers and readers, one per schema, for the codec's common case.

fastavro interprets a parsed schema on every call, and the codec wrapped it in
more per-field Python (building the datum, converting times, checking values):
about 16 us to write an event and 18 us to read one, a large share of what the
relay and the consumers do per event. Here each schema becomes one generated
function that writes (or reads) its fields in order, with the checks inline.

They are fast paths, not a second codec. A writer that meets a value it does not
take plainly (wrong type, out of range, a field missing or extra, a naive time)
gives up, and the reference path (`codec.Codec._encode_reference`) writes the
event or says why it cannot. A reader that meets anything unexpected (truncated
or trailing bytes, invalid UTF-8, a union branch out of range) gives up the same
way, and fastavro reads the message or says what is wrong with it. A reader is
made only for a writer schema that is the current schema of its type; messages
written with an older schema are resolved by fastavro. The bytes written, and
the values read, are those of fastavro: the tests compare them on generated
events of every type.

The generated source holds nothing but the schema's field names, each as a
Python string literal (`repr`), and fixed code for the types above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.published import PublishedEvent

ENVELOPE = ("position", "key", "version", "recorded_at")
# The Avro types a generated function handles (and long timestamp-millis); a schema with
# any other gets none, and its events go through fastavro alone.
PRIMITIVES = ("null", "boolean", "int", "long", "string")
TIMESTAMP = "timestamp-millis"
INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)

Writer = Callable[[PublishedEvent], bytes | None]  # None: not plainly writable
Reader = Callable[[bytes], PublishedEvent | None]  # None: not plainly readable


class GiveUp(Exception):
    """Raised inside a generated function: the reference path takes over."""


class Unsupported(ValueError):
    """A schema uses an Avro type the generated functions do not handle."""


def _kind(avro_type: Any) -> tuple[str, ...]:
    """A field's type as branches: ("long",), ("timestamp",), ("null", "string"), ..."""
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    kinds = []
    for branch in branches:
        if isinstance(branch, dict):
            logical = branch.get("logicalType")
            if logical == TIMESTAMP and branch.get("type") == "long":
                kinds.append("timestamp")
                continue
            if logical is not None:  # fastavro would read another logical type as such
                raise Unsupported(f"no generated reader or writer for Avro type {avro_type!r}")
            branch = branch.get("type")
        if branch not in PRIMITIVES:
            raise Unsupported(f"no generated reader or writer for Avro type {avro_type!r}")
        kinds.append(branch)
    if isinstance(avro_type, list) and len(set(kinds)) != len(kinds):
        raise Unsupported(f"a union with a repeated branch: {avro_type!r}")
    return tuple(kinds)


def _fields(schema: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    fields = [(str(f["name"]), _kind(f["type"])) for f in schema["fields"]]
    names = [name for name, _ in fields]
    if tuple(names[: len(ENVELOPE)]) != ENVELOPE:
        raise Unsupported(f"the schema does not start with the envelope {ENVELOPE}")
    return fields


# -- writing ---------------------------------------------------------------------------------

_CHECK = {
    "null": "{v} is None",
    "boolean": "{v}.__class__ is bool",
    "int": f"{{v}}.__class__ is int and {INT_RANGE[0]} <= {{v}} <= {INT_RANGE[1]}",
    "long": f"{{v}}.__class__ is int and {LONG_RANGE[0]} <= {{v}} <= {LONG_RANGE[1]}",
    "string": "{v}.__class__ is str",
    # A time is written as whole milliseconds since the epoch; a naive one is refused.
    "timestamp": "{v}.__class__ is datetime and {v}.tzinfo is not None",
}


def _write_varint(lines: list[str], indent: str, expression: str) -> None:
    lines += [f"{indent}n = {expression}",
              f"{indent}while n > 127:",
              f"{indent}    o.append((n & 127) | 128)",
              f"{indent}    n >>= 7",
              f"{indent}o.append(n)"]


def _write_value(lines: list[str], indent: str, kind: str, v: str) -> None:
    if kind == "null":
        return
    if kind == "boolean":
        lines.append(f"{indent}o.append(1 if {v} else 0)")
    elif kind == "int":
        _write_varint(lines, indent, f"({v} << 1) ^ ({v} >> 31)")
    elif kind == "long":
        _write_varint(lines, indent, f"({v} << 1) ^ ({v} >> 63)")
    elif kind == "timestamp":
        lines.append(f"{indent}{v} = ({v} - EPOCH) // MILLISECOND")
        lines.append(f"{indent}if not {LONG_RANGE[0]} <= {v} <= {LONG_RANGE[1]}:")
        lines.append(f"{indent}    raise GiveUp")
        _write_varint(lines, indent, f"({v} << 1) ^ ({v} >> 63)")
    else:  # string
        lines.append(f"{indent}b = {v}.encode()")
        _write_varint(lines, indent, "len(b) << 1")  # a long, zigzag-coded
        lines.append(f"{indent}o += b")


def compile_writer(schema: Mapping[str, Any], prefix: bytes) -> Writer:
    """The writer of events of one schema: `prefix` (marker and fingerprint) then the datum."""
    fields = _fields(schema)
    names = frozenset(name for name, _ in fields[len(ENVELOPE):])
    lines = ["def write(event):",
             "    f = event.fields",
             "    if f.keys() != NAMES:",
             "        return None",
             "    o = bytearray(PREFIX)",
             "    try:"]
    for i, (name, kinds) in enumerate(fields):
        source = f"event.{name}" if i < len(ENVELOPE) else f"f[{name!r}]"
        lines.append(f"        v = {source}")
        if len(kinds) == 1:
            lines.append(f"        if not ({_CHECK[kinds[0]].format(v='v')}):")
            lines.append("            return None")
            _write_value(lines, "        ", kinds[0], "v")
            continue
        for index, kind in enumerate(kinds):  # the first branch that takes the value
            keyword = "if" if index == 0 else "elif"
            lines.append(f"        {keyword} {_CHECK[kind].format(v='v')}:")
            lines.append(f"            o.append({index * 2})")  # the branch, zigzag-coded
            _write_value(lines, "            ", kind, "v")
        lines.append("        else:")
        lines.append("            return None")
    lines += ["    except (GiveUp, UnicodeEncodeError, OverflowError, TypeError):",
              "        return None",
              "    return bytes(o)"]
    scope: dict[str, Any] = {"NAMES": names, "PREFIX": prefix, "EPOCH": EPOCH,
                             "MILLISECOND": MILLISECOND, "GiveUp": GiveUp,
                             "datetime": datetime}
    exec(compile("\n".join(lines), f"<avro writer {schema['name']}>", "exec"), scope)
    writer: Writer = scope["write"]
    return writer


# -- reading ---------------------------------------------------------------------------------


def _read_varint(lines: list[str], indent: str, target: str, bits: int) -> None:
    # Zigzag varint, at most as many bytes as the type needs (5 for an int, 10 for a long).
    limit = 35 if bits == 32 else 70
    lines += [f"{indent}x = d[p]; p += 1; n = x & 127; s = 7",
              f"{indent}while x & 128:",
              f"{indent}    if s >= {limit}:",
              f"{indent}        raise GiveUp",
              f"{indent}    x = d[p]; p += 1; n |= (x & 127) << s; s += 7",
              f"{indent}{target} = (n >> 1) ^ -(n & 1)"]
    low, high = INT_RANGE if bits == 32 else LONG_RANGE
    lines += [f"{indent}if not {low} <= {target} <= {high}:",
              f"{indent}    raise GiveUp"]


def _read_value(lines: list[str], indent: str, kind: str, target: str) -> None:
    if kind == "null":
        lines.append(f"{indent}{target} = None")
    elif kind == "boolean":
        lines += [f"{indent}x = d[p]; p += 1",
                  f"{indent}if x > 1:",
                  f"{indent}    raise GiveUp",
                  f"{indent}{target} = x == 1"]
    elif kind == "int":
        _read_varint(lines, indent, target, 32)
    elif kind == "long":
        _read_varint(lines, indent, target, 64)
    elif kind == "timestamp":
        _read_varint(lines, indent, target, 64)
        lines.append(f"{indent}{target} = EPOCH + timedelta(milliseconds={target})")
    else:  # string
        _read_varint(lines, indent, "m", 64)
        lines += [f"{indent}if m < 0 or p + m > end:",
                  f"{indent}    raise GiveUp",
                  f"{indent}{target} = d[p:p + m].decode(); p += m"]


def compile_reader(schema: Mapping[str, Any], event_type: str, start: int) -> Reader:
    """The reader of messages written with one schema, the datum from byte `start` on."""
    fields = _fields(schema)
    lines = ["def read(d):",
             f"    p = {start}; end = len(d)",
             "    try:"]
    targets = []
    for i, (name, kinds) in enumerate(fields):
        target = f"v{i}"
        targets.append((name, target))
        if len(kinds) == 1:
            _read_value(lines, "        ", kinds[0], target)
            continue
        _read_varint(lines, "        ", "branch", 64)
        for index, kind in enumerate(kinds):
            keyword = "if" if index == 0 else "elif"
            lines.append(f"        {keyword} branch == {index}:")
            _read_value(lines, "            ", kind, target)
        lines += ["        else:",
                  "            raise GiveUp"]
    lines += ["    except (GiveUp, IndexError, UnicodeDecodeError, OverflowError):",
              "        return None",
              "    if p != end:",
              "        return None"]
    rest = ", ".join(f"{name!r}: {target}" for name, target in targets[len(ENVELOPE):])
    envelope = ", ".join(target for _, target in targets[: len(ENVELOPE)])
    lines.append(f"    return PublishedEvent(TYPE, {envelope}, {{{rest}}})")
    scope: dict[str, Any] = {"EPOCH": EPOCH, "timedelta": timedelta, "GiveUp": GiveUp,
                             "PublishedEvent": PublishedEvent, "TYPE": event_type}
    exec(compile("\n".join(lines), f"<avro reader {schema['name']}>", "exec"), scope)
    reader: Reader = scope["read"]
    return reader

