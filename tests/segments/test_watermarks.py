"""The command side's view of how far each call's audio is decided."""

from __future__ import annotations

import threading

from consumers.segments.watermark import Watermarks


class SavedStates:
    """What the desk stored, with a count of the reads made."""

    def __init__(self, **decided: int | None) -> None:
        self.decided = dict(decided)
        self.reads: list[str] = []

    def __call__(self, call_id: str) -> int | None:
        self.reads.append(call_id)
        return self.decided.get(call_id)


def test_a_saved_value_is_read_once_then_only_rises() -> None:
    saved = SavedStates(c1=500)
    marks = Watermarks(saved)
    assert marks.get("c1") == 500
    marks.raise_to("c1", 300)  # never lowered
    assert marks.get("c1") == 500
    marks.raise_to("c1", 900)
    assert marks.get("c1") == 900
    assert saved.reads == ["c1"]


def test_nothing_decided_is_remembered_until_the_desk_raises_it() -> None:
    saved = SavedStates()
    marks = Watermarks(saved)
    assert marks.get("c1") is None
    assert marks.get("c1") is None
    assert saved.reads == ["c1"]
    marks.raise_to("c1", 200)
    assert marks.get("c1") == 200
    assert saved.reads == ["c1"]


def test_a_forgotten_call_is_read_again() -> None:
    saved = SavedStates()
    marks = Watermarks(saved)
    assert marks.get("c1") is None
    marks.raise_to("c1", 200)
    marks.forget("c1")
    saved.decided["c1"] = 700
    assert marks.get("c1") == 700
    marks.forget("c1")
    saved.decided["c1"] = None
    assert marks.get("c1") is None
    assert saved.reads == ["c1", "c1", "c1"]


def test_only_the_most_recent_undecided_calls_are_remembered() -> None:
    saved = SavedStates()
    marks = Watermarks(saved, undecided_kept=2)
    for call_id in ("a", "b", "c"):
        assert marks.get(call_id) is None
    saved.decided["a"] = 40  # "a" was forgotten first: its saved state is read again
    assert marks.get("a") == 40
    assert marks.get("c") is None
    assert saved.reads == ["a", "b", "c", "a"]


def test_a_value_raised_while_the_state_is_read_wins() -> None:
    reading, raised = threading.Event(), threading.Event()

    def slow_load(call_id: str) -> int | None:
        reading.set()
        raised.wait(5)
        return None  # what was saved before the claim

    marks = Watermarks(slow_load)
    answers: list[int | None] = []
    asker = threading.Thread(target=lambda: answers.append(marks.get("c1")))
    asker.start()
    assert reading.wait(5)
    marks.raise_to("c1", 1_000)  # the desk claims a time meanwhile
    raised.set()
    asker.join(5)
    assert answers == [1_000]
    assert marks.get("c1") == 1_000


def test_a_call_just_created_is_not_read_and_still_rises() -> None:
    saved = SavedStates()
    marks = Watermarks(saved)
    marks.nothing_saved("c1")
    assert marks.get("c1") is None
    marks.raise_to("c1", 300)
    marks.nothing_saved("c1")  # too late to say so: the raised value stays
    assert marks.get("c1") == 300
    assert saved.reads == []
