"""The event store's transcoder writes exactly the bytes of the library's own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from recaudit.bootstrap import build
from recaudit.core.transcoder import FlatStateTranscoder
from recaudit.settings import Settings
from recaudit.workloads import play, scripts, set_policies


def transcoders() -> tuple[JSONTranscoder, FlatStateTranscoder]:
    library, ours = JSONTranscoder(), FlatStateTranscoder()
    for transcoder in (library, ours):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return library, ours


LIBRARY, OURS = transcoders()

times = st.datetimes(timezones=st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]))
flat_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), times)
values = st.recursive(
    st.one_of(flat_values, st.uuids(), st.decimals(allow_nan=False), st.floats(allow_nan=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8)


@given(st.dictionaries(st.text(), flat_values))
def test_flat_states_are_the_same_bytes(state: dict[str, Any]) -> None:
    assert OURS.encode(state) == LIBRARY.encode(state)
    assert OURS.decode(OURS.encode(state)) == state


@given(st.dictionaries(st.text(max_size=8), values, max_size=5))
def test_any_state_is_the_same_bytes(state: dict[str, Any]) -> None:
    assert OURS.encode(state) == LIBRARY.encode(state)


def outcome(decode: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", decode(data)
    except Exception as exc:  # the same failure, whichever path read it
        return type(exc).__name__, None


@given(st.dictionaries(st.text(max_size=8), values, max_size=5))
def test_any_state_reads_back_as_the_library_reads_it(state: dict[str, Any]) -> None:
    data = LIBRARY.encode(state)
    assert OURS.decode(data) == LIBRARY.decode(data)


# JSON the library itself never writes, but a store could hold: objects that look
# transcoded without being so, unknown names, odd numbers, broken text.
odd_values = st.one_of(
    flat_values.map(lambda v: v.isoformat() if isinstance(v, datetime) else v),
    st.floats(), st.integers(-(2**80), 2**80),
    st.fixed_dictionaries({"_type_": st.sampled_from(["datetime_iso", "uuid_hex", "nope", 5]),
                           "_data_": st.one_of(st.text(max_size=30), st.integers(),
                                               st.lists(st.integers(), max_size=2))}),
    st.lists(st.integers(), max_size=2))


@given(st.one_of(st.dictionaries(st.text(max_size=8), odd_values, max_size=5), odd_values),
       st.sampled_from(["", "x", "trailing"]))
def test_odd_json_reads_as_the_library_reads_it(state: Any, damage: str) -> None:
    data = json.dumps(state, ensure_ascii=False).encode()
    data = data + b"," if damage == "trailing" else data[:-1] if damage == "x" else data
    assert outcome(OURS.decode, data) == outcome(LIBRARY.decode, data)


def test_the_common_states_are_read_without_the_library() -> None:
    class Counting(FlatStateTranscoder):
        calls = 0

        def _decode_obj(self, d: dict[str, Any]) -> Any:  # the library's hook, per object
            Counting.calls += 1
            return super()._decode_obj(d)

    counting = Counting()
    counting.register(DatetimeAsISO())
    at = datetime(2026, 3, 1, 9, 30, 0, 125_000, tzinfo=UTC)
    state = {"timestamp": at, "call_id": "c1", "recording_no": 2, "automatic": False,
             "command_id": None}
    assert counting.decode(counting.encode(state)) == state
    assert Counting.calls == 0
    assert counting.decode(counting.encode({"nested": {"at": at}})) == {"nested": {"at": at}}
    assert Counting.calls == 3  # nested: the library's decoder, its hook on all 3 objects


def test_what_orjson_cannot_write_is_written_by_the_library() -> None:
    state = {"big": 2**70, "small": -(2**64), "at": datetime(2026, 3, 1, tzinfo=UTC),
             "id": UUID(int=7), "amount": Decimal("1.50"), "nested": {"a": [1, "é\n"]}}
    assert OURS.encode(state) == LIBRARY.encode(state)
    flat = {"big": 2**64, "low": -(2**63) - 1, "half": 1.5, "huge": 1e300}
    assert OURS.decode(OURS.encode(flat)) == flat  # whole numbers beyond 64 bits stay whole
    assert type(OURS.decode(OURS.encode(flat))["big"]) is int
    assert OURS.encode({"call_id": "c\u0000\u001f\u2028\"\\/é"}) == \
        LIBRARY.encode({"call_id": "c\u0000\u001f\u2028\"\\/é"})


def test_the_store_writes_every_event_as_the_library_would(tmp_path: Path) -> None:
    backend = build(Settings.from_env({}, data_dir=tmp_path))
    try:
        assert type(backend.store.mapper.transcoder) is FlatStateTranscoder
        set_policies(backend.service)
        for script in scripts(24, seed=5):
            play(backend.service, script)
        stored = backend.store.recorder.select_notifications(start=1, limit=10_000)
    finally:
        backend.close()
    assert len(stored) > 100
    topics = {event.topic for event in stored}
    assert len(topics) >= 6
    for event in stored:
        assert LIBRARY.encode(LIBRARY.decode(event.state)) == event.state, event.topic
