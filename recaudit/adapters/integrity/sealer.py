"""The sealer: keeps the chains up with the event store, on a thread in `recaudit serve`.

It opens its own connection to the event store's database (nothing is shared
with the writer), seals every `interval` seconds, and seals once more when
stopped, after the writer has stopped, so a clean shutdown leaves nothing
unsealed. `seal_once` is what `recaudit seal` runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from domain.clock import Clock, iso_millis, system_clock
from recaudit.adapters.integrity.database import ChainDatabase
from recaudit.adapters.integrity.head import ChainHead, current_head
from recaudit.adapters.integrity.recordings import FinishedInbox, RecordingFiles
from recaudit.adapters.integrity.sealing import RecordingSealer, seal_events
from recaudit.core.rounds import Rounds

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass(frozen=True)
class SealSummary:
    events: int
    recordings: int
    head: ChainHead


class Sealer:
    def __init__(self, connect: Callable[[], ChainDatabase], files: RecordingFiles | None, *,
                 interval: float = 1.0, batch: int = BATCH, clock: Clock = system_clock,
                 inbox: FinishedInbox | None = None) -> None:
        self._connect = connect
        self._recordings = RecordingSealer(files, inbox) if files is not None else None
        self.interval = interval
        self.batch = batch
        self.clock = clock
        self._db: ChainDatabase | None = None
        self._rounds = Rounds("sealer", self._round, interval)
        self._lock = threading.Lock()

    def seal_once(self) -> SealSummary:
        """Seal everything stored so far; returns what was sealed and the new head."""
        with self._lock:
            db = self._database()
            sealed_at = iso_millis(self.clock())
            events = seal_events(db, self.batch, sealed_at)
            recordings = self._recordings.seal(db, sealed_at) if self._recordings else 0
            return SealSummary(events, recordings, current_head(db))

    def start(self) -> None:
        self._rounds.start()

    def stop(self) -> None:
        """Stop the thread, seal what is left, close the connection."""
        if self._rounds.running:
            self._rounds.stop()
            self._round()
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _round(self) -> None:
        try:
            self.seal_once()
        except Exception:
            # The next round starts on a fresh connection; the chain is never left half-
            # extended (each batch is one transaction), so retrying is always safe.
            log.exception("sealing failed; retrying in %.1fs", self.interval)
            self.close()

    def _database(self) -> ChainDatabase:
        if self._db is None:
            db = self._connect()
            if not db.has_chain():
                db.create_tables()
            self._db = db
        return self._db
