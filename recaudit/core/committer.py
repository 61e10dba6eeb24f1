"""Group commit: one writer thread saves the effects of many commands per transaction.

Callers hand the writer a *job*: a function that reads and changes aggregates
through a unit of work and returns how to build its answer. The writer runs
every queued job against the same unit of work, saves all the aggregates they
touched in one transaction, and only then releases the answers, each with the
global positions of the events it produced. A failed batch changes nothing:
the touched aggregates are dropped from the cache and every job is run again
on its own, against fresh state, so each still gets the answer it would have
had alone. Concurrency conflicts with other processes are retried the same way.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.errors import DomainError
from domain.stream import StreamAggregate
from recaudit.core.eventstore import EventStore

T = TypeVar("T")
R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)
Positions = Mapping[tuple[UUID, int], int]
Finish = Callable[[Positions], T]
Job = Callable[["UnitOfWork"], Finish[T]]

CONFLICT_RETRIES = 20


class AggregateCache:
    """Committed aggregates by id, least recently used dropped first (writer thread only)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[UUID, StreamAggregate] = OrderedDict()

    def get(self, key: UUID) -> StreamAggregate | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: UUID, value: StreamAggregate) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def drop(self, keys: Any) -> None:
        for key in keys:
            self._items.pop(key, None)


@dataclass
class UnitOfWork:
    """The aggregates one batch reads and changes."""

    store: EventStore
    cache: AggregateCache
    touched: dict[UUID, StreamAggregate] = field(default_factory=dict)
    # The aggregates the current job was given, each with how many new events it had then.
    used: dict[UUID, tuple[StreamAggregate, int]] = field(default_factory=dict)
    # Stream versions asked for the whole batch in one query, each used by its first read.
    versions: dict[UUID, int | None] = field(default_factory=dict)

    def prefetch(self, stream_ids: list[UUID]) -> None:
        """Ask the store, in one query, the versions of the streams the jobs will read."""
        wanted = [s for s in dict.fromkeys(stream_ids)
                  if s not in self.touched and s not in self.versions]
        self.versions.update(self.store.stream_versions(wanted))

    def get(self, stream_id: UUID, *, cached: bool = True) -> Any:
        """The aggregate, or None if the stream does not exist.

        `cached=False` asks for the state as stored now (another process may
        have moved it on): the cached copy is used only if it is still current,
        and is otherwise brought up to date with the events stored after it,
        which gives the same state as a full replay.
        """
        aggregate = self.touched.get(stream_id)
        if aggregate is None:
            aggregate = self.cache.get(stream_id)
            if aggregate is None or not cached:
                aggregate = self._read(stream_id, aggregate)
            if aggregate is None:
                return None
            self.touched[stream_id] = aggregate
        if stream_id not in self.used:
            self.used[stream_id] = (aggregate, len(aggregate.pending_events))
        return aggregate

    def _read(self, stream_id: UUID, cached: Any) -> Any:
        # Asking for the stream's version first is far cheaper than reading it:
        # a new stream (every started call) then costs one small query, or none if
        # the batch asked for it already.
        version = self.versions.pop(stream_id) if stream_id in self.versions \
            else self.store.stream_version(stream_id)
        if version is None:
            return None
        if cached is None or cached.version > version:
            return self.store.repository.get(stream_id)
        if cached.version < version:
            newer: Any = self.store.events.get(stream_id, gt=cached.version)
            for event in newer:
                cached = event.mutate(cached)
        return cached

    def add(self, aggregate: StreamAggregate) -> None:
        if aggregate.id not in self.used:  # a new aggregate's events are all the job's
            earlier = self.touched.get(aggregate.id)
            self.used[aggregate.id] = (aggregate, 0 if earlier is None
                                       else len(earlier.pending_events))
        self.touched[aggregate.id] = aggregate

    def begin_job(self) -> None:
        """The next job starts: what it is given is counted afresh."""
        self.used.clear()

    def job_changed(self) -> bool:
        """Whether the current job added events to any aggregate it was given."""
        return any(len(aggregate.pending_events) != before
                   for aggregate, before in self.used.values())

    def pending(self) -> list[StreamAggregate]:
        return [a for a in self.touched.values() if a.pending_events]


class _Handover(Generic[R]):
    """A one-shot answer from the writer to the caller waiting for it.

    Does what the `Future` it replaced did here, for a fraction of the cost:
    one lock, held until the answer (or error) is set.
    """

    __slots__ = ("_error", "_ready", "_value")

    def __init__(self) -> None:
        self._ready = threading.Lock()
        self._ready.acquire()
        self._value: R | None = None
        self._error: BaseException | None = None

    def set_result(self, value: R) -> None:
        self._value = value
        self._ready.release()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._ready.release()

    def result(self) -> R:
        self._ready.acquire()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class _LoopHandover(Generic[R]):
    """The answer handed to a coroutine waiting on an event loop: the writer never waits
    for the loop, and an answer for a loop that has closed meanwhile is dropped."""

    __slots__ = ("_future", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[R] = loop.create_future()

    def set_result(self, value: R) -> None:
        self._settle(value, None)

    def set_exception(self, error: BaseException) -> None:
        self._settle(None, error)

    def _settle(self, value: R | None, error: BaseException | None) -> None:
        try:
            self._loop.call_soon_threadsafe(_settle, self._future, value, error)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def __await__(self) -> Any:
        return self._future.__await__()


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the caller stopped waiting (the client went away)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class StoreRead(Generic[T]):
    """An answer that reads the store to build itself (a replayed command's): a caller on
    an event loop builds it on a worker thread instead of on the loop."""

    __slots__ = ("_build",)

    def __init__(self, build: Finish[T]) -> None:
        self._build = build

    def __call__(self, positions: Positions) -> T:
        return self._build(positions)


class _Answer(Protocol[R_contra]):
    """Where the writer puts a job's answer: a waiting thread's, or an event loop's."""

    def set_result(self, value: R_contra) -> None: ...
    def set_exception(self, error: BaseException) -> None: ...


@dataclass
class _Queued(Generic[T]):
    job: Job[T]
    future: _Answer[tuple[Finish[T], Positions]]
    reads: tuple[UUID, ...] = ()  # streams whose version the job will ask (see `run`)


class GroupCommitter:
    """Runs jobs on one writer thread, many to a transaction."""

    def __init__(self, store: EventStore, *, max_batch: int = 256, cache_size: int = 20000):
        self.store = store
        self.max_batch = max_batch
        self.cache = AggregateCache(cache_size)
        self._queue: queue.SimpleQueue[_Queued[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.batches = 0
        self.jobs = 0
        self.conflicts = 0  # jobs run again because another process wrote first

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                if self._thread.ident is not None:  # closed before: a thread runs only once
                    self._thread = threading.Thread(target=self._run, name="group-commit",
                                                    daemon=True)
                self._thread.start()

    def close(self) -> None:
        with self._lock:
            if self._started:
                self._queue.put(None)
                self._thread.join(timeout=30)
                self._started = False

    def run(self, job: Job[T], reads: tuple[UUID, ...] = ()) -> T:
        """Run `job` in the next batch; returns its answer once the batch is stored.

        `reads`: streams the job will read without a current copy (a new call, a policy
        read fresh). The versions of all a batch names are asked in one query before its
        jobs run, instead of one query each as they read."""
        if not self._started:
            self.start()
        handover: _Handover[tuple[Finish[T], Positions]] = _Handover()
        self._queue.put(_Queued(job, handover, reads))
        finish, positions = handover.result()
        return finish(positions)

    async def run_async(self, job: Job[T], reads: tuple[UUID, ...] = ()) -> T:
        """`run` for a coroutine: waits for the batch without holding up the event loop
        (or a worker thread), the answer handed back straight to the loop."""
        if not self._started:
            self.start()
        handover: _LoopHandover[tuple[Finish[T], Positions]] = _LoopHandover(
            asyncio.get_running_loop())
        self._queue.put(_Queued(job, handover, reads))
        finish, positions = await handover
        if isinstance(finish, StoreRead):
            return await asyncio.to_thread(finish, positions)
        return finish(positions)

    # -- the writer thread ----------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._commit_batch(batch)
                    return
                batch.append(item)
            self._commit_batch(batch)
            # Let the callers just answered run before the next batch is drawn, so
            # their next commands join it: larger batches, fewer transactions.
            time.sleep(0)

    def _commit_batch(self, batch: list[_Queued[Any]]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        if len(batch) == 1:
            self._run_alone(batch[0])
            return
        uow = UnitOfWork(self.store, self.cache)
        done: list[tuple[_Queued[Any], Finish[Any]]] = []
        # Refusals are answered only once the batch is stored: one may rest on a change
        # of an earlier job in the batch (a call it started), which a failed save undoes.
        refused: list[tuple[_Queued[Any], DomainError]] = []
        unresolved = list(batch)
        try:
            uow.prefetch([stream for item in batch for stream in item.reads])
            for item in batch:
                uow.begin_job()
                try:
                    done.append((item, item.job(uow)))
                except DomainError as exc:
                    if uow.job_changed():
                        # A refusal that left changes behind must not be saved with
                        # the batch: run everything again on its own instead.
                        raise _DirtyRefusal from exc
                    refused.append((item, exc))
                unresolved.remove(item)
            positions = self._save(uow)
        except Exception:
            # Something in the batch failed: nothing was stored. Run each job
            # again on its own so one bad command cannot sink the others.
            self.cache.drop(uow.touched)
            for item in [i for i, _ in done] + [i for i, _ in refused] + unresolved:
                self._run_alone(item)
            return
        for item, finish in done:
            item.future.set_result((finish, positions))
        for item, refusal in refused:
            item.future.set_exception(refusal)

    def _run_alone(self, item: _Queued[Any]) -> None:
        for attempt in range(CONFLICT_RETRIES):
            uow = UnitOfWork(self.store, self.cache)
            try:
                finish = item.job(uow)
                positions = self._save(uow)
            except IntegrityError:
                # Another writer got there first: retry against fresh state.
                self.conflicts += 1
                self.cache.drop(uow.touched)
                if attempt == CONFLICT_RETRIES - 1:
                    item.future.set_exception(ConcurrencyExhausted())
                continue
            except BaseException as exc:
                self.cache.drop(uow.touched)
                item.future.set_exception(exc)
                return
            item.future.set_result((finish, positions))
            return

    def _save(self, uow: UnitOfWork) -> Positions:
        pending = uow.pending()
        recordings = self.store.save(*pending) if pending else []
        for stream_id, aggregate in uow.touched.items():
            if aggregate.is_finished:
                # It will take no more state changes: keep the cache for live calls.
                self.cache.drop([stream_id])
            else:
                self.cache.put(stream_id, aggregate)
        return {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }


class _DirtyRefusal(Exception):
    """A job raised a domain error after changing an aggregate."""


class ConcurrencyExhausted(DomainError):
    code = "busy"

    def __init__(self) -> None:
        super().__init__("the call kept changing under this command; try again")
