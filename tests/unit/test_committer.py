"""Group commit: a job that fails must not lose or corrupt the other jobs of its batch.

The jobs here are small fakes working on a tiny aggregate of the test's own, saved in a
real SQLite event store; the committer under test is the real one.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate

from domain.errors import UnknownCall
from domain.rules import Mode
from domain.stream import StreamAggregate
from recaudit.bootstrap import build
from recaudit.bootstrap import event_store as open_event_store
from recaudit.core.committer import ConcurrencyExhausted, GroupCommitter, Positions, UnitOfWork
from recaudit.core.eventstore import EventStore
from recaudit.settings import Settings
from tests.support import wait_until

R = TypeVar("R")
NAMESPACE = UUID("0b7f3c52-93d4-4a8e-8f61-2d9a54c0e7aa")


def tally_id(name: str) -> UUID:
    return uuid5(NAMESPACE, name)


class Tally(StreamAggregate):
    """A list of items, one event per item."""

    class Opened(Aggregate.Created):
        name: str

    class Added(Aggregate.Event):
        item: str

        def apply(self, aggregate: Any) -> None:
            aggregate.items.append(self.item)

    def __init__(self, *, name: str) -> None:
        self.name = name
        self.items: list[str] = []

    @classmethod
    def open(cls, name: str) -> Tally:
        return cls._create(cls.Opened, id=tally_id(name), name=name)

    def add(self, item: str) -> None:
        self.trigger_event(self.Added, item=item)


Answer = tuple[UUID, int, int | None]  # stream, version, position


class Jobs:
    """Fake jobs; counts how often each ran."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _ran(self, label: str) -> None:
        with self._lock:
            self.runs[label] += 1

    def add(self, name: str, item: str) -> Callable[[UnitOfWork], Callable[[Positions], Answer]]:
        def job(uow: UnitOfWork) -> Callable[[Positions], Answer]:
            self._ran(item)
            tally = uow.get(tally_id(name))
            if tally is None:
                tally = Tally.open(name)
                uow.add(tally)
            tally.add(item)
            stream, version = tally.id, tally.version
            return lambda positions: (stream, version, positions.get((stream, version)))

        return job

    def explode(self, name: str) -> Callable[[UnitOfWork], Any]:
        def job(uow: UnitOfWork) -> Any:
            self._ran("explode")
            tally = uow.get(tally_id(name))
            tally.add("poison")  # changes a shared aggregate, then fails
            raise RuntimeError("boom")

        return job

    def refuse(self) -> Callable[[UnitOfWork], Any]:
        def job(uow: UnitOfWork) -> Any:
            self._ran("refuse")
            raise UnknownCall("nope")

        return job

    def reopen(self, name: str) -> Callable[[UnitOfWork], Any]:
        """Creates a stream that already exists: the save itself fails, every time."""

        def job(uow: UnitOfWork) -> Any:
            self._ran("reopen")
            uow.add(Tally.open(name))
            return lambda positions: None

        return job

    def gate(self, committer: GroupCommitter, queued: int) -> Callable[[UnitOfWork], Any]:
        """Holds the writer until `queued` jobs wait behind it, so they form one batch."""

        def job(uow: UnitOfWork) -> Any:
            wait_until(lambda: committer._queue.qsize() >= queued, what="jobs to queue")
            return lambda positions: None

        return job


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    event_store = open_event_store(Settings.from_env({}, data_dir=tmp_path))
    yield event_store
    event_store.close()


@pytest.fixture
def committer(store: EventStore) -> Iterator[GroupCommitter]:
    writer = GroupCommitter(store, max_batch=64)
    yield writer
    writer.close()


def submit(committer: GroupCommitter, job: Callable[[UnitOfWork], Any]) -> Future[Any]:
    """Run `job` from its own thread; returns its answer (or error) as a future."""
    future: Future[Any] = Future()

    def call() -> None:
        try:
            future.set_result(committer.run(job))
        except BaseException as exc:  # handed to the test through the future
            future.set_exception(exc)

    threading.Thread(target=call, daemon=True).start()
    return future


def one_batch(
    committer: GroupCommitter, jobs: Jobs, batch: list[Callable[[UnitOfWork], Any]]
) -> list[Future[Any]]:
    """Queue `batch` in order behind a gate, so the writer takes it as one batch."""
    futures = [submit(committer, jobs.gate(committer, len(batch)))]
    wait_until(lambda: committer.batches == 1, what="the gate to start")
    for i, job in enumerate(batch, start=1):
        futures.append(submit(committer, job))
        wait_until(lambda i=i: committer._queue.qsize() >= i, what=f"job {i} to queue")
    for future in futures:
        future.exception(timeout=30)
    assert committer.batches == 2 and committer.jobs == len(batch) + 1, "not one batch"
    return futures[1:]


def stored_items(store: EventStore, name: str) -> list[str]:
    tally: Tally = store.repository.get(tally_id(name))
    return tally.items


def assert_answers_point_at_their_events(store: EventStore, answers: dict[str, Answer]) -> None:
    notes = store.recorder.select_notifications(start=1, limit=10_000)
    by_position = {n.id: store.mapper.to_domain_event(n) for n in notes}
    for item, (stream, version, position) in answers.items():
        assert position is not None, item
        event = by_position[position]
        assert (event.originator_id, event.originator_version) == (stream, version)
        assert event.item == item


def test_an_unexpected_error_does_not_sink_the_rest_of_its_batch(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    committer.run(jobs.add("shared", "first"))  # cached by the writer from here on
    committer.batches = committer.jobs = 0
    items = ["a", "b", "c", "d"]
    batch = [jobs.add("shared", "a"), jobs.add("own-b", "b"), jobs.explode("shared")]
    batch += [jobs.add("shared", "c"), jobs.add("own-d", "d")]

    futures = one_batch(committer, jobs, batch)

    with pytest.raises(RuntimeError, match="boom"):
        futures[2].result()
    answers = {item: futures[i].result() for i, item in zip([0, 1, 3, 4], items, strict=True)}
    assert stored_items(store, "shared") == ["first", "a", "c"]
    assert stored_items(store, "own-b") == ["b"] and stored_items(store, "own-d") == ["d"]
    assert_answers_point_at_their_events(store, answers)
    # Nothing of the failed job leaks into later batches through the writer's cache.
    _, version, position = committer.run(jobs.add("shared", "after"))
    assert version == 5 and stored_items(store, "shared") == ["first", "a", "c", "after"]
    # shared: opened, first, a, c, after; own-b and own-d: opened and one item each.
    assert position == store.head() == 9


def test_a_refused_job_fails_alone_and_the_batch_is_not_rerun(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    batch = [jobs.add("t", "a"), jobs.refuse(), jobs.add("t", "b")]

    futures = one_batch(committer, jobs, batch)

    with pytest.raises(UnknownCall):
        futures[1].result()
    answers = {"a": futures[0].result(), "b": futures[2].result()}
    assert stored_items(store, "t") == ["a", "b"]
    assert_answers_point_at_their_events(store, answers)
    assert jobs.runs == Counter({"a": 1, "refuse": 1, "b": 1})
    assert answers["a"][2] is not None and answers["b"][2] is not None


def test_a_job_whose_save_always_fails_gets_an_error_and_the_others_are_stored(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    committer.run(jobs.add("taken", "x"))
    committer.batches = committer.jobs = 0
    batch = [jobs.add("t", "a"), jobs.reopen("taken"), jobs.add("t", "b")]

    futures = one_batch(committer, jobs, batch)

    with pytest.raises(ConcurrencyExhausted):
        futures[1].result()
    assert stored_items(store, "t") == ["a", "b"]
    assert stored_items(store, "taken") == ["x"]
    answers = {"a": futures[0].result(), "b": futures[2].result()}
    assert_answers_point_at_their_events(store, answers)


def test_a_job_failing_alone_leaves_the_cached_aggregate_clean(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    committer.run(jobs.add("t", "a"))
    with pytest.raises(RuntimeError, match="boom"):
        committer.run(jobs.explode("t"))
    _, version, position = committer.run(jobs.add("t", "b"))
    assert version == 3 and stored_items(store, "t") == ["a", "b"]
    assert position == store.head()


def dirty_refusal(name: str) -> Callable[[UnitOfWork], Any]:
    """Changes a shared aggregate, then refuses: its change must never be stored."""

    def job(uow: UnitOfWork) -> Any:
        tally = uow.get(tally_id(name))
        tally.add("half-done")
        raise UnknownCall("refused after a change")

    return job


def test_a_refusal_that_changed_an_aggregate_stores_nothing_of_it(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    committer.run(jobs.add("shared", "first"))
    committer.batches = committer.jobs = 0
    batch = [jobs.add("shared", "a"), dirty_refusal("shared"), jobs.add("shared", "b")]

    futures = one_batch(committer, jobs, batch)

    with pytest.raises(UnknownCall):
        futures[1].result()
    assert futures[0].result()[1] == 3 and futures[2].result()[1] == 4
    assert stored_items(store, "shared") == ["first", "a", "b"]


def opening_refusal(name: str) -> Callable[[UnitOfWork], Any]:
    """Opens a new stream, then refuses: the stream must never be stored."""

    def job(uow: UnitOfWork) -> Any:
        uow.add(Tally.open(name))
        raise UnknownCall("refused after opening a stream")

    return job


def test_a_refusal_that_opened_a_stream_stores_nothing_of_it(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    batch = [jobs.add("kept", "a"), opening_refusal("never"), jobs.add("kept", "b")]

    futures = one_batch(committer, jobs, batch)

    with pytest.raises(UnknownCall):
        futures[1].result()
    assert stored_items(store, "kept") == ["a", "b"]
    assert store.stream_version(tally_id("never")) is None


def test_a_refusal_changing_what_an_earlier_job_of_the_batch_changed_is_caught(
    store: EventStore, committer: GroupCommitter
) -> None:
    jobs = Jobs()
    committer.run(jobs.add("shared", "first"))
    committer.batches = committer.jobs = 0
    # The aggregate already has a new event of the batch when the refusing job gets it.
    batch = [jobs.add("shared", "a"), jobs.add("shared", "b"), dirty_refusal("shared")]

    futures = one_batch(committer, jobs, batch)

    with pytest.raises(UnknownCall):
        futures[2].result()
    assert [f.result()[1] for f in futures[:2]] == [3, 4]
    assert stored_items(store, "shared") == ["first", "a", "b"]


def test_a_closed_committer_starts_again(store: EventStore, committer: GroupCommitter) -> None:
    jobs = Jobs()
    committer.run(jobs.add("t", "one"))
    committer.close()
    committer.run(jobs.add("t", "two"))
    assert stored_items(store, "t") == ["one", "two"]


def test_callers_on_an_event_loop_share_batches_with_threads(
        store: EventStore, committer: GroupCommitter) -> None:
    jobs = Jobs()

    async def from_the_loop() -> list[Any]:
        tasks = [committer.run_async(jobs.add("loop", f"l{n}")) for n in range(20)]
        tasks.append(committer.run_async(jobs.refuse()))
        return await asyncio.gather(*tasks, return_exceptions=True)

    threaded = [submit(committer, jobs.add("thread", f"t{n}")) for n in range(20)]
    answers = run_loop(from_the_loop)
    assert isinstance(answers[-1], UnknownCall)
    assert_answers_point_at_their_events(
        store, {f"l{n}": answer for n, answer in enumerate(answers[:-1])}
        | {f"t{n}": future.result(timeout=30) for n, future in enumerate(threaded)})
    assert stored_items(store, "loop") == [f"l{n}" for n in range(20)]


def test_an_answer_for_a_closed_loop_is_dropped_and_the_writer_goes_on(
        store: EventStore, committer: GroupCommitter) -> None:
    jobs = Jobs()
    running, held = threading.Event(), threading.Event()

    def hold(uow: UnitOfWork) -> Any:
        running.set()
        held.wait(30)
        return lambda positions: None

    blocker = submit(committer, hold)
    assert running.wait(30)

    async def leave() -> None:
        waiting = asyncio.ensure_future(committer.run_async(jobs.add("gone", "g1")))
        await asyncio.sleep(0.05)  # queued behind the held job, then the loop closes
        waiting.cancel()

    run_loop(leave)
    held.set()
    blocker.result(timeout=30)
    assert submit(committer, jobs.add("after", "a1")).result(timeout=30)[2] is not None
    assert stored_items(store, "gone") == ["g1"]  # stored; only its answer had nowhere to go


def run_loop(main: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """`asyncio.run(main())` on a thread of its own: the test's thread may already hold a
    running loop (another suite's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result(timeout=60)


def test_a_batch_asks_the_versions_its_starts_read_in_one_query(tmp_path: Path) -> None:
    backend = build(Settings.from_env({}, data_dir=tmp_path))
    try:
        service, index = backend.service, backend.store.index
        service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="admin")
        asked: list[str] = []
        one, many = index.stream_version, index.stream_versions
        index.stream_version = lambda s: asked.append("one") or one(s)  # type: ignore[method-assign]
        index.stream_versions = (  # type: ignore[method-assign]
            lambda ids: asked.append(f"many {len(ids)}") or many(ids))
        # Hold the writer so that the starts queue up and are run as one batch.
        committer, gate = service.committer, threading.Event()
        jobs = committer.jobs
        blocker = threading.Thread(target=committer.run,
                                   args=(lambda uow: (gate.wait(10), lambda _p: None)[1],))
        blocker.start()
        wait_until(lambda: committer.jobs == jobs + 1, what="the writer to be held")
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(service.start_call, call_id=f"c{n}", org_id="acme",
                                   agent_id="bob", direction="inbound") for n in range(4)]
            wait_until(lambda: committer._queue.qsize() == 4, what="the starts to queue")
            gate.set()
            results = [f.result(timeout=30) for f in futures]
        blocker.join(timeout=10)
        assert [r.status.version for r in results] == [1, 1, 1, 1]
        assert asked == ["many 5"]  # four new calls and their policy, in one query
        # A start run on its own (as after a failed batch) asks as before.
        asked.clear()
        service.start_call(call_id="c9", org_id="acme", agent_id="bob", direction="inbound")
        assert asked == ["one", "one"]
    finally:
        backend.close()
