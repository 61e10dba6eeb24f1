"""The segment desk: where audio waits for its call's recording state, and where it is decided.

Three callers share it under one lock: the HTTP ingestion (`ingest`, memory
only), the segment consumer (`apply`, events in feed order) and the lateness
sweeper (`sweep`). Decisions are stored by `writer`; a failed round restores
the calls it touched from their snapshots, so memory never runs ahead of disk.

Lateness: held audio older than the bound is decided with the state known
then. To make that safe the desk first *claims* the time (the watermark the
command service reads, so later commands dated before it are refused
`too_late`), then passes a barrier (every command checked before the claim is
committed), then waits until the consumer has applied the call's events up to
its latest stored version, and only then decides.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from consumers.segments import layout
from consumers.segments.audio import (
    FOREVER,
    TICKS_PER_SECOND,
    at_ms,
    ms_to_datetime,
    ms_to_ticks,
    ticks_to_ms_ceiling,
)
from consumers.segments.callstate import STATE_AFTER, CallAudio
from consumers.segments.decide import Entry, ceil_div, decide, forget_decided_digests, overdue
from consumers.segments.erase import erase
from consumers.segments.errors import SegmentError
from consumers.segments.held import Budget
from consumers.segments.intake import Bounds, Chunk, admit
from consumers.segments.port import SegmentStore, batched
from consumers.segments.quiet import QuietStates
from consumers.segments.watermark import Watermarks
from consumers.segments.writer import delete_parts, save_call_state, store_entry
from domain.clock import Clock, system_clock
from domain.errors import UnknownCall
from domain.published import CALL_EVENT_TYPES, PublishedEvent

log = logging.getLogger(__name__)
MiB = 1 << 20
STATE_CHANGES = frozenset({*STATE_AFTER, "CallEnded"})  # a refusal or a transfer changes none
# The events of a call's own stream. A RecordingDeleted only moves the call's version here:
# its files go once the batch's recordings are written (`erase`).
CALL_TYPES = frozenset(CALL_EVENT_TYPES)


@dataclass(frozen=True)
class AudioLimits:
    lateness_ms: int | None = 10_000  # None: decide by events only (tools and tests)
    held_per_call: int = 2 * MiB
    held_total: int = 256 * MiB
    dedup_window_ms: int = 2_000  # a decided chunk sent again is recognised this long
    skew_ms: int = 5_000


@dataclass(frozen=True)
class Accepted:
    call_id: str
    first: datetime
    samples: int
    rate: int
    duplicate: bool


class SegmentDesk:
    def __init__(
        self,
        store: SegmentStore,
        *,
        limits: AudioLimits | None = None,
        clock: Clock = system_clock,
        call_version: Callable[[str], int | None] = lambda _call_id: None,
        call_started: Callable[[str], datetime | None] = lambda _call_id: None,
        barrier: Callable[[], None] = lambda: None,
        fault_pause: Callable[[], None] = lambda: None,
    ) -> None:
        """`fault_pause`: called between the steps of a deletion (fault-injection tests)."""
        self.store = store
        self.fault_pause = fault_pause
        self.limits = limits or AudioLimits()
        self.clock = clock
        self.call_version = call_version
        self.call_started = call_started
        self.barrier = barrier
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._pending: dict[str, tuple[int, int]] = {}  # call -> (cut tick, version needed)
        self._budget = Budget(self.limits.held_total)
        self._marks = Watermarks(self._saved_decided)
        self._recovered = False
        self._position: int | None = None
        self._quiet = QuietStates(store)  # open calls without audio: no file of their own
        self._owned: set[str] = set()  # open calls whose state is in a file of their own

    # -- the command side's question ----------------------------------------------

    def decided_until(self, call_id: str) -> datetime | None:
        """Every sample of the call before this instant is decided (None: nothing yet)."""
        ticks = self._marks.get(call_id)
        if ticks is None or ticks >= FOREVER:
            return None
        return ms_to_datetime(ticks_to_ms_ceiling(ticks))

    def created(self, call_id: str) -> None:
        """A call new to the event store has no audio yet: no saved state to read."""
        self._marks.nothing_saved(call_id)

    def _saved_decided(self, call_id: str) -> int | None:
        raw = self._stored(call_id)
        if raw is None:
            return None
        audio = CallAudio.from_json(raw)
        return None if audio.done else audio.decided

    # -- ingestion ------------------------------------------------------------------

    def ingest(self, call_id: str, at: datetime, rate: int, pcm: bytes) -> Accepted:
        """Hold a chunk until its call's state at its time is known (memory only)."""
        chunk = Chunk.of(at, rate, pcm)
        latest = ms_to_ticks(at_ms(self.clock()) + self.limits.skew_ms)
        with self._lock:
            entry = self._entry(call_id, must_exist=True)
            bounds = Bounds(self.limits.held_per_call, self._budget, latest,
                            earliest=self._start_ticks(entry))
            duplicate = admit(entry, chunk, bounds)
        return Accepted(call_id, chunk.start, chunk.samples, rate, duplicate)

    def _start_ticks(self, entry: Entry) -> int | None:
        """When the call started: from its state, or from the event store while the
        consumer has not applied its CallStarted yet (audio may come first)."""
        if entry.audio.started is not None:
            return ms_to_ticks(entry.audio.started)
        started = self.call_started(entry.audio.call_id)
        return None if started is None else ms_to_ticks(at_ms(started))

    # -- events (the consumer) ------------------------------------------------------

    def position(self) -> int:
        """The position up to which every event has been applied and stored."""
        if self._position is None:
            raw = self.store.get(layout.PROGRESS)
            self._position = int(json.loads(raw)["position"]) if raw else 0
        return self._position

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        with self._lock:
            self._recover_once()
            touched: dict[str, tuple[Entry, bytes]] = {}
            try:
                for event in events:
                    self._apply_event(event, touched)
                for entry, _ in touched.values():
                    self._decide(entry, entry.audio.known or 0, forced=False)
                self._run_ready(touched)
                self._store_round(touched)
                # After the round: a recording finished in this batch is written first.
                for event in events:
                    if event.type == "RecordingDeleted":
                        erase(self.store, event, self.fault_pause)
                if events:
                    self._save_position(max(e.position for e in events))
            except BaseException:
                self._restore(touched)
                raise

    def _apply_event(self, event: PublishedEvent, touched: dict[str, tuple[Entry, bytes]]) -> None:
        if event.type not in CALL_TYPES:
            return  # policy and access events
        entry = self._entry(event.key, must_exist=False)
        audio = entry.audio
        if audio.done or event.version <= audio.version:
            return  # a re-delivery: already applied
        self._touch(touched, entry)
        fields, at = event.fields, at_ms(event.at)
        if event.type == "CallStarted":
            audio.begin(fields["org_id"], fields["pause_behavior"], at, fields.get("max_pause_ms"))
        elif event.type in STATE_CHANGES and not audio.resumed_by_itself(event.type, at):
            if ms_to_ticks(at) < entry.decided:
                log.error("call %s: %s at %s is dated inside audio already decided; "
                          "applied at the decided point", audio.call_id, event.type, at)
                at = ticks_to_ms_ceiling(entry.decided)
            audio.change(event.type, at, fields.get("recording_no"))
        audio.version = event.version

    def _save_position(self, position: int) -> None:
        if position > self.position():
            self.store.put(layout.PROGRESS, json.dumps({"position": position}).encode())
            self._position = position

    # -- lateness -------------------------------------------------------------------

    def sweep(self) -> None:
        """Decide audio whose state became known; past the lateness bound, decide up to
        the known state (no claim needed), then claim and decide audio beyond it."""
        lateness = self.limits.lateness_ms
        cut = None if lateness is None else ms_to_ticks(at_ms(self.clock()) - lateness)
        with self._lock:
            self._recover_once()
            touched: dict[str, tuple[Entry, bytes]] = {}
            try:
                for entry in list(self._entries.values()):
                    self._sweep_known(entry, cut, touched)
                self._store_round(touched)
            except BaseException:
                self._restore(touched)
                raise
            late = [] if cut is None else [
                call_id for call_id, entry in self._entries.items()
                if overdue(entry, cut) and self._pending.get(call_id, (0, 0))[0] < cut
            ]
        if late and cut is not None:
            self._decide_late(late, cut)

    def _sweep_known(
        self, entry: Entry, cut: int | None, touched: dict[str, tuple[Entry, bytes]]
    ) -> None:
        known = entry.audio.known
        if known is None:
            return
        if entry.held and known > entry.decided:
            self._touch(touched, entry)
            self._decide(entry, known, forced=False)
        # Past the bound, what is not there by now is missing; the state is final up to
        # `known`, which no accepted command can be dated before, so nobody is refused.
        if cut is not None and min(known, cut) > entry.decided:
            self._touch(touched, entry)
            self._decide(entry, min(known, cut), forced=True)

    def _decide_late(self, late: list[str], cut: int) -> None:
        for call_id in late:
            self._marks.raise_to(call_id, cut)
        self.barrier()
        needed = {call_id: self.call_version(call_id) or 0 for call_id in late}
        with self._lock:
            for call_id in late:
                self._pending[call_id] = (cut, needed[call_id])
            touched: dict[str, tuple[Entry, bytes]] = {}
            try:
                self._run_ready(touched)
                self._store_round(touched)
            except BaseException:
                self._restore(touched)
                raise

    def _run_ready(self, touched: dict[str, tuple[Entry, bytes]]) -> None:
        """Carry out claimed decisions whose call the consumer has caught up with."""
        for call_id, (cut, needed) in list(self._pending.items()):
            entry = self._entries.get(call_id)
            if entry is None or entry.audio.done:
                del self._pending[call_id]
            elif entry.audio.version >= needed:
                self._touch(touched, entry)
                self._decide(entry, cut, forced=True)
                del self._pending[call_id]

    # -- shared machinery -----------------------------------------------------------

    def _entry(self, call_id: str, *, must_exist: bool) -> Entry:
        entry = self._entries.get(call_id)
        if entry is not None:
            return entry
        raw = self.store.get(layout.call_key(call_id))
        if raw is not None:
            self._owned.add(call_id)
        else:
            raw = self._quiet.get(call_id)
        if raw is not None:
            entry = Entry(CallAudio.from_json(raw))
        elif must_exist and self.call_version(call_id) is None:
            raise UnknownCall(call_id)
        else:
            entry = Entry(CallAudio(call_id))
        if not entry.audio.done:
            self._entries[call_id] = entry
            if entry.audio.decided is not None:
                self._marks.raise_to(call_id, entry.audio.decided)
        return entry

    def _touch(self, touched: dict[str, tuple[Entry, bytes]], entry: Entry) -> None:
        if entry.audio.call_id not in touched:
            touched[entry.audio.call_id] = (entry, entry.audio.to_json())

    def _decide(self, entry: Entry, cut: int, *, forced: bool) -> None:
        decide(entry, cut, forced=forced, dedup_window_ms=self.limits.dedup_window_ms)

    def _store_round(self, touched: dict[str, tuple[Entry, bytes]]) -> None:
        """Store what the round decided: every call's audio, finished WAV files and
        manifests first, made durable together; then the states that name them (each call
        with audio or finished in its own file, the calls without audio all in one object),
        made durable together. Only then does memory take the round as stored."""
        finished: list[str] = []
        started = [entry for entry, _ in touched.values() if entry.audio.started is not None]
        with batched(self.store) as flush:
            for entry in started:
                finished += store_entry(self.store, entry, save_state=False)
            flush()
            quiet: dict[str, bytes] = {}
            for entry in started:
                if self._is_quiet(entry):
                    quiet[entry.audio.call_id] = entry.audio.to_json()
                else:
                    save_call_state(self.store, entry.audio)
                    self._owned.add(entry.audio.call_id)
            self._quiet.save(quiet, removed=[c for c in touched if c not in quiet])
        for call_id, (entry, _) in list(touched.items()):
            touched[call_id] = (entry, entry.audio.to_json())  # stored: nothing to undo
            self._commit(entry)
        try:
            delete_parts(self.store, finished)
        except SegmentError as exc:  # only leaves stale parts, which recovery removes
            log.warning("segment store: could not delete finished parts: %s", exc)

    def _commit(self, entry: Entry) -> None:
        """The round is stored: let go of decided audio, forget a finished call."""
        audio = entry.audio
        if audio.done:
            self._owned.discard(audio.call_id)
            released = entry.held.clear()
            self._entries.pop(audio.call_id, None)
            self._pending.pop(audio.call_id, None)
            self._marks.forget(audio.call_id)
        else:
            per = TICKS_PER_SECOND // audio.rate if audio.rate else 1
            released = entry.held.drop_before(ceil_div(entry.decided, per)) if audio.rate else 0
            forget_decided_digests(entry)
            if audio.decided is not None:
                self._marks.raise_to(audio.call_id, audio.decided)
        self._budget.release(released)

    def _is_quiet(self, entry: Entry) -> bool:
        """Whether the call's state goes with the other calls without audio."""
        audio = entry.audio
        return audio.rate is None and not audio.done and audio.call_id not in self._owned

    def _stored(self, call_id: str) -> bytes | None:
        """The call's stored state: its own file, else its line among the quiet calls."""
        raw = self.store.get(layout.call_key(call_id))
        return raw if raw is not None else self._quiet.get(call_id)

    def _restore(self, touched: dict[str, tuple[Entry, bytes]]) -> None:
        for entry, snapshot in touched.values():
            entry.audio = CallAudio.from_json(snapshot)
            entry.writes.clear()

    def _recover_once(self) -> None:
        if self._recovered:
            return
        leftovers = self.store.recover()
        stale = layout.finished_parts(self.store.keys())
        for key in stale:
            self.store.delete(key)
        if leftovers or stale:
            log.info("segment store: removed %d temporary files and %d stale parts",
                     leftovers, len(stale))
        self._recovered = True

    # -- reading ----------------------------------------------------------------------

    def call_audio(self, call_id: str) -> CallAudio | None:
        """A copy of what the store knows of a call (None if the call exists but the
        consumer has not seen it yet); raises UnknownCall for a call that does not exist."""
        with self._lock:
            entry = self._entries.get(call_id)
            if entry is not None:
                return CallAudio.from_json(entry.audio.to_json())
            raw = self._stored(call_id)
        if raw is not None:
            return CallAudio.from_json(raw)
        if self.call_version(call_id) is None:
            raise UnknownCall(call_id)
        return None

    def held_bytes(self) -> int:
        return self._budget.used

    def entries(self) -> int:
        return len(self._entries)
