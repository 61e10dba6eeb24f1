"""The event schemas: house conventions, the compatibility promise against every released
set, and schema evolution through the codec (old writer / new reader and the reverse)."""

from __future__ import annotations

import copy
import io
import re
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest

import schemas
from domain.lifecycle import DELETE_COMMAND, LEGAL_HOLD, DeletionReason, ReadKind
from domain.published import EVENT_TYPES, FIELDS, PublishedEvent
from domain.rules import CallState, Command, Mode, PauseBehavior, Refusal
from recaudit.access.tokens import Role
from recaudit.adapters.kafka.codec import (
    ENVELOPE,
    Codec,
    CodecError,
    SchemaRegistry,
    UnknownSchema,
)
from schemas import manifest, parsing_fingerprint

Schema = dict[str, Any]
SchemaSet = dict[str, Schema]

# The first release. A released set is never edited: its fingerprints name messages already
# written. Changing a doc is fine (docs are not part of the fingerprint); anything else is not.
V1_FINGERPRINTS = {
    "CallEnded": "50143bbbc8f87775",
    "CallStarted": "bc934f25cb4538ac",
    "CommandRejected": "0d33f38deb7b8350",
    "PolicySet": "e34cbad36a399f18",
    "RecordingPaused": "88b06e7f4fe83ef0",
    "RecordingResumed": "95123dd8e0924a59",
    "RecordingStarted": "7bfa01ae9551aad7",
    "RecordingStopped": "a84daf915d00030a",
}
# The second: CommandRejected gained `received_at`, CallStarted and PolicySet `max_pause_ms`,
# RecordingResumed `automatic`; PolicyOverrideRemoved and CallTransferred are new; every other
# type is as in v1.
V2_FINGERPRINTS = V1_FINGERPRINTS | {
    "CommandRejected": "fe3e3468383b3853",
    "CallStarted": "7ba458409ab80eb1",
    "PolicySet": "7f6dda7b14171fc1",
    "RecordingResumed": "be44b55664e6a517",
    "PolicyOverrideRemoved": "cc5e85f34cfb8e61",
    "CallTransferred": "ec345b6580770bc8",
}
# The third: the compliance lifecycle's five new types; every other type is as in v2 (the
# docs of CommandRejected name the refused deletion, which changes no fingerprint).
V3_FINGERPRINTS = V2_FINGERPRINTS | {
    "RecordingDeleted": "5e7898f0d1494d78",
    "RetentionSet": "3bae2b1cc516b5d0",
    "LegalHoldPlaced": "a8fe93939be48506",
    "LegalHoldReleased": "621567aa1f7a0e28",
    "RecordAccessed": "bfb7a1e78e8a04d3",
}

# -- the compatibility checker ---------------------------------------------------------------


def without_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [without_docs(item) for item in node]
    return node


def is_optional(field: Schema) -> bool:
    kind = field["type"]
    return isinstance(kind, list) and kind[0] == "null" and field.get("default", 0) is None


def rule_problems(old: SchemaSet, new: SchemaSet) -> list[str]:
    """What breaks the promise: types and fields are never removed, renamed or retyped,
    and a new field is optional (a union with null first, default null)."""
    problems = [f"{t}: event type removed" for t in old.keys() - new.keys()]
    for event_type in old.keys() & new.keys():
        problems += type_problems(event_type, old[event_type], new[event_type])
    return problems


def type_problems(event_type: str, old: Schema, new: Schema) -> list[str]:
    problems = []
    if (old["name"], old.get("namespace")) != (new["name"], new.get("namespace")):
        problems.append(f"{event_type}: record renamed to {new.get('namespace')}.{new['name']}")
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    for name, field in old_fields.items():
        if name not in new_fields:
            problems.append(f"{event_type}.{name}: field removed or renamed")
        elif without_docs(field["type"]) != without_docs(new_fields[name]["type"]):
            problems.append(f"{event_type}.{name}: type changed")
    for name in new_fields.keys() - old_fields.keys():
        if not is_optional(new_fields[name]):
            problems.append(f"{event_type}.{name}: a new field must be a union with null "
                            "first and default null")
    return problems


SAMPLE_AT = datetime(2026, 3, 1, 9, 30, 0, 125_000, tzinfo=UTC)
PRIMITIVE_SAMPLES = {"long": 2**40 + 7, "int": 2**31 - 1, "boolean": True, "double": 0.5,
                     "float": 0.25, "bytes": b"\x00\xff"}


def sample_value(kind: Any, name: str, filled: bool) -> Any:
    if isinstance(kind, list):
        branches = [branch for branch in kind if branch != "null"]
        return sample_value(branches[0], name, True) if filled or "null" not in kind else None
    if isinstance(kind, dict):
        if kind.get("logicalType") == "timestamp-millis":
            return SAMPLE_AT
        return sample_value(kind["type"], name, filled)
    if kind == "string":
        return f"{name}-é"
    return PRIMITIVE_SAMPLES[kind]


def samples(schema: Schema) -> list[dict[str, Any]]:
    """A record with every optional field null, and one with every field set."""
    return [{f["name"]: sample_value(f["type"], f["name"], filled) for f in schema["fields"]}
            for filled in (False, True)]


def resolution_problems(event_type: str, writer: Schema, reader: Schema) -> list[str]:
    """Write samples with `writer`, read them with `reader`, check what the reader sees."""
    parsed_writer = fastavro.parse_schema(writer, named_schemas={})
    parsed_reader = fastavro.parse_schema(reader, named_schemas={})
    defaults = {f["name"]: f.get("default") for f in reader["fields"]}
    problems = []
    for record in samples(writer):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed_writer, record, strict=True)
        buffer.seek(0)
        try:
            seen = fastavro.schemaless_reader(buffer, parsed_writer, parsed_reader)
        except Exception as exc:  # any failure is the finding
            problems.append(f"{event_type}: reader cannot read the writer's data: {exc}")
            continue
        expected = {name: record.get(name, defaults[name]) for name in defaults}
        if seen != expected:
            problems.append(f"{event_type}: read {seen}, expected {expected}")
    return problems


def data_problems(old: SchemaSet, new: SchemaSet) -> list[str]:
    """Both directions: new readers read old data, old readers read new data."""
    problems = []
    for event_type in old.keys() & new.keys():
        problems += resolution_problems(event_type, old[event_type], new[event_type])
        problems += resolution_problems(event_type, new[event_type], old[event_type])
    return problems


def compatibility_problems(old: SchemaSet, new: SchemaSet) -> list[str]:
    return rule_problems(old, new) + data_problems(old, new)


# -- the repository's schemas keep the promise ----------------------------------------------


@pytest.mark.parametrize(("version", "fingerprints"), [("v1", V1_FINGERPRINTS),
                                                       ("v2", V2_FINGERPRINTS),
                                                       ("v3", V3_FINGERPRINTS)])
def test_every_release_is_kept(version: str, fingerprints: dict[str, str]) -> None:
    assert schemas.released_versions()[:3] == ["v1", "v2", "v3"]
    released = schemas.released(version)
    assert {t: parsing_fingerprint(s).hex() for t, s in released.items()} == fingerprints


@pytest.mark.parametrize("version", schemas.released_versions())
def test_current_schemas_are_compatible_with_every_release(version: str) -> None:
    assert compatibility_problems(schemas.released(version), schemas.current()) == []


@pytest.mark.parametrize("version", schemas.released_versions())
def test_messages_of_every_release_still_decode(version: str) -> None:
    codec = Codec(SchemaRegistry.from_package())
    for event_type, schema in schemas.released(version).items():
        record = samples(schema)[1]
        message = frame(schema, record)
        event = codec.decode(message)
        assert (event.type, event.position, event.key) == (event_type, record["position"],
                                                           record["key"])
        # Fields added after the release read as their default, null.
        assert event.fields == {name: record.get(name) for name in FIELDS[event_type]}


def frame(schema: Schema, record: dict[str, Any]) -> bytes:
    """A single-object message written with `schema`, by hand."""
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + parsing_fingerprint(schema))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema, named_schemas={}), record)
    return buffer.getvalue()


def test_the_fingerprint_manifest_is_up_to_date() -> None:
    assert manifest.stored() == manifest.render(), "run: python -m schemas.manifest"
    listed = set(manifest.build()["fingerprints"])
    assert listed == {f.hex() for f in SchemaRegistry.from_package().writers}


# -- the checker catches what it must -------------------------------------------------------


def changed(event_type: str, change: Any) -> SchemaSet:
    new = copy.deepcopy(schemas.current())
    change(new[event_type])
    return new


def field(schema: Schema, name: str) -> Schema:
    return next(f for f in schema["fields"] if f["name"] == name)


def add_field(**spec: Any) -> Any:
    return lambda schema: schema["fields"].append({"doc": "added", **spec})


BREAKING = {
    "removed field": lambda s: s["fields"].remove(field(s, "by")),
    "renamed field": lambda s: field(s, "by").update(name="actor"),
    "retyped field": lambda s: field(s, "recording_no").update(type="string"),
    "timestamp unit changed": lambda s: field(s, "at").update(
        type={"type": "long", "logicalType": "timestamp-micros"}),
    "made optional": lambda s: field(s, "by").update(type=["null", "string"], default=None),
    "new required field": add_field(name="queue", type="string"),
    "new field without default": add_field(name="queue", type=["null", "string"]),
    "new field with null last": add_field(name="queue", type=["string", "null"], default="x"),
    "renamed record": lambda s: s.update(name="RecordingHeld"),
}


@pytest.mark.parametrize("change", BREAKING.values(), ids=BREAKING.keys())
def test_a_breaking_change_is_reported(change: Any) -> None:
    assert rule_problems(schemas.current(), changed("RecordingPaused", change)) != []


def test_a_removed_event_type_is_reported() -> None:
    new = schemas.current()
    del new["CallEnded"]
    assert rule_problems(schemas.current(), new) == ["CallEnded: event type removed"]


def test_a_field_the_old_reader_needs_fails_the_data_check() -> None:
    new = changed("RecordingPaused", BREAKING["removed field"])
    problems = data_problems(schemas.current(), new)
    assert len(problems) == 2 and "cannot read" in problems[0]


def test_an_optional_field_is_a_compatible_change() -> None:
    new = changed("CallStarted", add_field(name="queue", type=["null", "string"], default=None))
    assert compatibility_problems(schemas.current(), new) == []


def test_a_changed_doc_is_a_compatible_change() -> None:
    new = changed("CallEnded", lambda s: field(s, "by").update(doc="Who hung up."))
    assert compatibility_problems(schemas.current(), new) == []
    assert parsing_fingerprint(new["CallEnded"]) == parsing_fingerprint(
        schemas.current()["CallEnded"])


# -- evolution through the codec -------------------------------------------------------------

QUEUE = {"name": "queue", "type": ["null", "string"], "default": None,
         "doc": "The queue the call came through, or null."}


def with_queue() -> SchemaSet:
    """A next version: CallStarted gains an optional field."""
    return changed("CallStarted", lambda s: s["fields"].append(dict(QUEUE)))


def call_started(**extra: Any) -> PublishedEvent:
    fields = {"call_id": "call-7", "org_id": "org-1", "agent_id": "agent-1",
              "direction": "inbound", "mode": "pause_resume", "policy_version": 3,
              "pause_behavior": "skip", "at": SAMPLE_AT, "by": "agent-1", "command_id": None,
              "max_pause_ms": 60_000}
    return PublishedEvent("CallStarted", 12, "call-7", 1, SAMPLE_AT, fields | extra)


def test_a_new_reader_reads_an_old_message_with_the_default() -> None:
    old_writer = Codec(SchemaRegistry(schemas.current()))
    new_reader = Codec(SchemaRegistry(with_queue(), {"v1": schemas.current()}))
    decoded = new_reader.decode(old_writer.encode(call_started()))
    assert decoded == call_started(queue=None)


def test_an_old_reader_skips_the_new_field_of_a_newer_writer() -> None:
    new_writer = Codec(SchemaRegistry(with_queue(), {"v1": schemas.current()}))
    old_reader = Codec(SchemaRegistry(schemas.current(), {"v2": with_queue()}))
    decoded = old_reader.decode(new_writer.encode(call_started(queue="sales")))
    assert decoded == call_started()


def test_an_old_reader_without_the_newer_schema_reports_it_unknown() -> None:
    new_writer = Codec(SchemaRegistry(with_queue()))
    message = new_writer.encode(call_started(queue="sales"))
    with pytest.raises(UnknownSchema) as caught:
        Codec(SchemaRegistry(schemas.current())).decode(message)
    assert caught.value.fingerprint == message[2:10]


def test_a_new_writer_and_reader_keep_the_new_field() -> None:
    codec = Codec(SchemaRegistry(with_queue(), {"v1": schemas.current()}))
    event = call_started(queue="sales")
    assert codec.decode(codec.encode(event)) == event


def test_a_released_schema_of_a_type_without_a_current_one_is_refused() -> None:
    current = schemas.current()
    released = {"v1": dict(current)}
    del current["CallEnded"]
    expected = re.escape("released/v1/CallEnded.avsc has no current schema")
    with pytest.raises(CodecError, match=expected):
        SchemaRegistry(current, released)


def test_a_schema_file_naming_another_record_is_refused() -> None:
    current = schemas.current()
    current["CallEnded"] = current["CallStarted"]
    expected = re.escape("CallEnded.avsc names io.recaudit.events.CallStarted")
    with pytest.raises(CodecError, match=expected):
        SchemaRegistry(current)


# -- house conventions ----------------------------------------------------------------------

DOCUMENTED_VALUES = {
    "mode": [m.value for m in Mode],
    "pause_behavior": [p.value for p in PauseBehavior],
    "direction": ["inbound", "outbound"],
    "state_before": [s.value for s in CallState if s is not CallState.ENDED],
    "state": [s.value for s in CallState],
    "command": [c.value for c in Command] + [DELETE_COMMAND],
    "code": [r.value for r in Refusal] + [LEGAL_HOLD],
}
# Value sets whose field name means free text elsewhere (`reason`), or that may be null.
DOCUMENTED_VALUES_OF_TYPE = {
    ("RecordingDeleted", "reason"): [r.value for r in DeletionReason],
    ("RecordAccessed", "what"): [k.value for k in ReadKind],
    ("RecordAccessed", "role"): [r.value for r in Role],
}


def all_schemas() -> list[tuple[str, Schema]]:
    found = [(f"current/{t}", s) for t, s in schemas.current().items()]
    for version in schemas.released_versions():
        found += [(f"{version}/{t}", s) for t, s in schemas.released(version).items()]
    return found


def test_there_is_one_schema_per_published_type() -> None:
    assert sorted(schemas.current()) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_fields_are_the_envelope_and_the_contract_fields(event_type: str) -> None:
    schema = schemas.current()[event_type]
    assert (schema["namespace"], schema["name"]) == ("io.recaudit.events", event_type)
    assert [f["name"] for f in schema["fields"]] == [*ENVELOPE, *FIELDS[event_type]]


@pytest.mark.parametrize(("where", "schema"), all_schemas(), ids=[w for w, _ in all_schemas()])
def test_every_record_and_field_is_documented(where: str, schema: Schema) -> None:
    assert schema["doc"].strip()
    assert [f["name"] for f in schema["fields"] if not f.get("doc", "").strip()] == []


@pytest.mark.parametrize(("where", "schema"), all_schemas(), ids=[w for w, _ in all_schemas()])
def test_times_are_timestamp_millis_and_nullables_default_to_null(
    where: str, schema: Schema
) -> None:
    for entry in schema["fields"]:
        if entry["name"] in ("at", "recorded_at"):
            assert entry["type"] == {"type": "long", "logicalType": "timestamp-millis"}
        if isinstance(entry["type"], list):
            assert is_optional(entry), f"{where}.{entry['name']}: null first, default null"


def test_value_sets_are_plain_strings_listing_every_domain_value() -> None:
    """Open value sets stay strings (an Avro enum breaks old readers when a value is added);
    their docs list every value the domain can produce."""
    for event_type, schema in schemas.current().items():
        for entry in schema["fields"]:
            if entry["name"] in DOCUMENTED_VALUES:
                assert entry["type"] == "string", f"{event_type}.{entry['name']}"
                words = set(re.findall(r"[a-z_]+", entry["doc"]))
                missing = [v for v in DOCUMENTED_VALUES[entry["name"]] if v not in words]
                assert missing == [], f"{event_type}.{entry['name']} doc lacks {missing}"



@pytest.mark.parametrize(("event_type", "name"), DOCUMENTED_VALUES_OF_TYPE,
                         ids=[f"{t}.{n}" for t, n in DOCUMENTED_VALUES_OF_TYPE])
def test_value_sets_of_the_lifecycle_types_list_every_domain_value(event_type: str,
                                                                  name: str) -> None:
    entry = field(schemas.current()[event_type], name)
    assert entry["type"] in ("string", ["null", "string"])
    words = set(re.findall(r"[a-z_]+", entry["doc"]))
    missing = [v for v in DOCUMENTED_VALUES_OF_TYPE[(event_type, name)] if v not in words]
    assert missing == [], f"{event_type}.{name} doc lacks {missing}"
