"""The event store's transcoder writes exactly the bytes of the library's own."""

from __future__ import annotations

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


def test_what_orjson_cannot_write_is_written_by_the_library() -> None:
    state = {"big": 2**70, "small": -(2**64), "at": datetime(2026, 3, 1, tzinfo=UTC),
             "id": UUID(int=7), "amount": Decimal("1.50"), "nested": {"a": [1, "é\n"]}}
    assert OURS.encode(state) == LIBRARY.encode(state)
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
