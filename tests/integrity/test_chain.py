"""Changes to the chain tables themselves: a seal edited or removed breaks the chain; a chain
rewritten consistently after an edit is caught only by a head exported beforehand."""

from __future__ import annotations

from recaudit.adapters.integrity.database import LINKS
from tests.integrity.scene import Scene, seal
from tests.workload import drive


def test_an_edited_seal_breaks_the_chain(scene: Scene) -> None:
    row = scene.middle()
    scene.tamper.set_link(row.position, "payload_sha256", "0" * 64)
    report = scene.verify()
    assert scene.findings() == [
        ("chain_broken", row.position, row.stream, row.version),
        ("chain_broken", row.position, row.stream, row.version),
        ("edited", row.position, row.stream, row.version),
    ]
    assert [f.detail for f in report.findings[:2]] == [
        "its global hash does not match its contents",
        "its stream hash does not match its contents",
    ]


def test_a_removed_seal_breaks_the_chain(scene: Scene) -> None:
    rows = scene.tamper.rows()
    last_of_stream = {r.stream: r for r in rows}
    row = next(r for r in rows[len(rows) // 2:-1] if last_of_stream[r.stream] is r)
    after = rows[rows.index(row) + 1]
    scene.tamper.delete_link(row.position)
    assert scene.findings() == [
        ("inserted", row.position, row.stream, row.version),
        ("chain_broken", after.position, after.stream, after.version),
    ]


def test_a_rewritten_chain_is_caught_only_by_an_exported_head(scene: Scene) -> None:
    """The limit of a chain kept next to the data: whoever can edit an event and recompute
    every seal after it gets a chain that verifies. A head kept elsewhere catches it."""
    exported = scene.head
    row = scene.middle()
    scene.tamper.set_state(row.position, row.state.replace(b"agent", b"agenT", 1))
    assert scene.tamper.reseal_from(row.position) > 0
    assert scene.verify().clean
    report = scene.verify(exported)
    assert scene.findings(exported) == [("rewritten", exported.position, None, None)]
    assert exported.global_hash in report.findings[0].detail


def test_a_truncated_chain_is_caught_only_by_an_exported_head(scene: Scene) -> None:
    exported = scene.head
    scene.tamper.run(f"DELETE FROM {LINKS} WHERE position > ?", (exported.position - 3,))
    report = scene.verify()
    assert report.clean and report.unsealed_events == 3
    assert scene.findings(exported) == [("rewritten", exported.position, None, None)]


def test_rewrites_after_the_exported_head_are_not_covered_by_it(scene: Scene) -> None:
    """A head vouches for the chain up to itself: export heads often."""
    exported = scene.head
    drive(scene.backend.service, 2, seed=13, prefix="later")
    seal(scene.settings)
    row = scene.tamper.rows()[-2]
    assert row.position > exported.position
    scene.tamper.set_state(row.position, row.state + b" ")
    scene.tamper.reseal_from(row.position)
    assert scene.verify(exported).clean


def test_a_dropped_chain_is_reported(scene: Scene) -> None:
    scene.tamper.run(f"DROP TABLE {LINKS}")
    count = len(scene.tamper.rows())
    report = scene.verify()
    assert scene.findings() == [("unsealed", None, None, None)]
    assert report.unsealed_events == count
    assert scene.findings(scene.head) == [("unsealed", None, None, None),
                                          ("rewritten", None, None, None)]
