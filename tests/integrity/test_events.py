"""Every way of changing stored events behind the application's back is found, and only it:
each test makes one change with SQL and expects exactly the findings it causes."""

from __future__ import annotations

import pytest

from domain.published import CALL_EVENT_TYPES
from tests.integrity.scene import Scene, seal
from tests.integrity.tamper import PostgresTamper
from tests.workload import drive


def test_an_untouched_store_is_clean(scene: Scene) -> None:
    report = scene.verify()
    assert report.clean, report.findings
    assert report.sealed_events == scene.head.position == scene.backend.store.head()
    assert report.unsealed_events == 0 and report.unsealed_recordings == 0
    assert report.sealed_recordings == scene.head.recordings_seq >= 2


def test_an_edited_state_is_found(scene: Scene) -> None:
    row = scene.middle()
    scene.tamper.set_state(row.position, row.state.replace(b"agent", b"agenT", 1))
    report = scene.verify()
    assert [(f.kind.value, f.position, f.stream, f.version) for f in report.findings] == [
        ("edited", row.position, row.stream, row.version)]
    assert "state differs" in report.findings[0].detail


def test_an_edited_topic_is_found(scene: Scene) -> None:
    row = scene.middle()
    other = next(r.topic for r in scene.tamper.rows() if r.topic != row.topic)
    scene.tamper.set_topic(row.position, other)
    report = scene.verify()
    assert scene.findings() == [("edited", row.position, row.stream, row.version)]
    assert "topic" in report.findings[0].detail


def test_a_deleted_event_is_found(scene: Scene) -> None:
    row = scene.middle()
    scene.tamper.delete(row.position)
    assert scene.findings() == [("deleted", row.position, row.stream, row.version)]


def test_the_deleted_last_event_is_found(scene: Scene) -> None:
    last = scene.tamper.rows()[-1]
    scene.tamper.delete(last.position)
    assert scene.findings() == [("deleted", last.position, last.stream, last.version)]


def test_an_event_forged_into_history_is_found(scene: Scene) -> None:
    """A forged next event of a call, placed in the middle of the history: on a store
    without gaps the later events must move up to make room, and that shows too."""
    row = scene.middle()
    latest = max(r.version for r in scene.tamper.rows() if r.stream == row.stream)
    at = row.position + 1
    scene.tamper.shift_up_from(at)
    scene.tamper.insert(at, row.stream, latest + 1, row.topic, row.state)
    report = scene.verify()
    head = scene.head.position
    moved = scene.tamper.row(at + 1)
    assert scene.findings() == [
        ("inserted", at, row.stream, latest + 1),
        ("reordered", at + 1, moved.stream, moved.version),
    ]
    assert report.findings[1].detail == (
        f"{head - at + 1} events at positions {at + 1}..{head + 1} were sealed at positions "
        f"{at}..{head}")


def test_swapped_states_are_found(scene: Scene) -> None:
    first, second = scene.stream_pair()
    scene.tamper.swap_states(first.position, second.position)
    report = scene.verify()
    assert scene.findings() == [
        ("reordered", first.position, first.stream, first.version),
        ("reordered", second.position, second.stream, second.version),
    ]
    expected = f"it carries the state sealed for position {second.position}"
    assert report.findings[0].detail == expected


def test_swapped_versions_are_found(scene: Scene) -> None:
    first, second = scene.stream_pair()
    scene.tamper.swap_versions(first.position, second.position)
    report = scene.verify()
    assert scene.findings() == [
        ("reordered", first.position, first.stream, second.version),
        ("reordered", second.position, second.stream, first.version),
    ]
    expected = f"its version is {second.version}, sealed as version {first.version} here"
    assert report.findings[0].detail == expected


def test_swapped_positions_are_found(scene: Scene) -> None:
    rows = scene.tamper.rows()
    first, second = rows[3], rows[-4]
    scene.tamper.swap_positions(first.position, second.position)
    assert scene.findings() == [
        ("reordered", first.position, second.stream, second.version),
        ("reordered", second.position, first.stream, first.version),
    ]


def test_an_edited_identity_is_found(scene: Scene) -> None:
    """An event moved to another stream: what sits at the sealed position is not what was
    sealed there, and the sealed event is nowhere."""
    row = scene.middle()
    other = next(r for r in scene.tamper.rows() if r.stream != row.stream)
    scene.tamper.run(f"UPDATE {scene.tamper.table} SET originator_id = ?, "
                     f"originator_version = 999 WHERE {scene.tamper.pos} = ?",
                     (scene.tamper.stream_param(other.stream), row.position))
    report = scene.verify()
    assert scene.findings() == [("edited", row.position, other.stream, 999)]
    assert f"sealed as stream {row.stream} version {row.version}" in report.findings[0].detail


def test_a_forged_event_after_the_head_waits_to_be_sealed(scene: Scene) -> None:
    """The limit of sealing after the fact: an event appended after the last seal looks like
    any new event until it is sealed, and once sealed it is part of the record. The sealer
    in `recaudit serve` keeps that window to about a second."""
    row = scene.tamper.rows()[-1]
    scene.tamper.insert(row.position + 1, row.stream, row.version + 1, row.topic, row.state)
    report = scene.verify()
    assert report.clean and report.unsealed_events == 1


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_an_event_forged_into_a_gap_is_found(scene: Scene) -> None:
    """PostgreSQL loses positions to failed inserts; the chain skips such gaps, and an event
    slipped into one later is found."""
    assert isinstance(scene.tamper, PostgresTamper)
    resumes = scene.tamper.skip_positions(5)
    drive(scene.backend.service, 2, seed=12, prefix="late")
    assert seal(scene.settings).head.position > resumes
    assert scene.verify().clean, "a gap in positions is not a finding"
    row = scene.middle()
    latest = max(r.version for r in scene.tamper.rows() if r.stream == row.stream)
    scene.tamper.insert(resumes - 2, row.stream, latest + 1, row.topic, row.state)
    assert scene.findings() == [("inserted", resumes - 2, row.stream, latest + 1)]


def test_every_call_event_type_is_sealed_and_an_edited_transfer_is_found(scene: Scene) -> None:
    """The scene holds every call event type, transfers included; a transfer whose agent
    is changed behind the application's back is found like any other edited event."""
    topics = {r.topic for r in scene.tamper.rows()}
    assert {f"recaudit.call.{t}" for t in CALL_EVENT_TYPES} <= topics
    row = next(r for r in scene.tamper.rows() if r.topic == "recaudit.call.CallTransferred")
    scene.tamper.set_state(row.position, row.state.replace(b"agent", b"agenT", 1))
    report = scene.verify()
    assert scene.findings() == [("edited", row.position, row.stream, row.version)]
    assert "state differs" in report.findings[0].detail
