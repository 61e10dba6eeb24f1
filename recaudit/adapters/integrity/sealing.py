"""Extending the chains: seal the events after the sealed head, and new finished recordings.

Each batch is appended in one transaction that first checks nobody else
extended the chain meanwhile (two sealers never interleave; the loser retries
from the new head). Events are sealed in position order, each linked to the
previously sealed one, so gaps in positions are simply skipped over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from recaudit.adapters.integrity.chain import (
    GENESIS,
    Link,
    RawEvent,
    RecordingKey,
    RecordingSeal,
    link_for,
    seal_recording,
)
from recaudit.adapters.integrity.database import ChainDatabase
from recaudit.adapters.integrity.deleted import undeleted
from recaudit.adapters.integrity.errors import ChainMoved
from recaudit.adapters.integrity.recordings import (
    FinishedInbox,
    RecordingFiles,
    claimed_sha256,
    describe,
    sha256_of,
)

log = logging.getLogger(__name__)
MOVED_RETRIES = 5


def seal_events(db: ChainDatabase, batch: int, sealed_at: str) -> int:
    """Seal every event after the sealed head; returns how many."""
    total, moved = 0, 0
    while True:
        last = db.last_link()
        after = last.position if last else 0
        events = db.events(after, batch)
        if not events:
            return total
        links = link_events(events, last, db.last_links({e.stream for e in events}), sealed_at)
        try:
            db.append_links(links, after=after)
        except ChainMoved:
            moved += 1
            if moved > MOVED_RETRIES:
                raise
            continue
        total += len(links)


def link_events(events: list[RawEvent], last: Link | None, stream_heads: dict[str, Link],
                sealed_at: str) -> list[Link]:
    global_prev = last.global_hash if last else GENESIS
    streams = {stream: link.stream_hash for stream, link in stream_heads.items()}
    links = []
    for event in events:
        link = link_for(event, global_prev=global_prev,
                        stream_prev=streams.get(event.stream, GENESIS), sealed_at=sealed_at)
        links.append(link)
        global_prev = link.global_hash
        streams[event.stream] = link.stream_hash
    return links


@dataclass
class RecordingSealer:
    """Seals finished recordings.

    The first round (and any round after another sealer got ahead) lists every finished
    recording and seals those without a seal. With an inbox, later rounds look only at
    the recordings announced since, and at those refused before (kept until they match
    or verification reports them), so a round's cost does not grow with the store.
    """

    files: RecordingFiles
    inbox: FinishedInbox | None = None
    _last: tuple[int, str] | None = None  # the chain's (seq, hash); None: list everything
    _refused: set[RecordingKey] = field(default_factory=set)

    def seal(self, db: ChainDatabase, sealed_at: str) -> int:
        if self._last is None or self.inbox is None:
            announced = self.inbox.take() if self.inbox is not None else set()
            last = db.last_recording_seal()
            self._last = (last.seq, last.hash) if last else (0, GENESIS)
            candidates = announced | set(self.files.finished())
            sealed = {seal.key for seal in db.recording_seals()} if candidates else set()
        else:
            candidates = self.inbox.take() | self._refused
            sealed = db.sealed_recordings(candidates) if candidates else set()
        self._refused -= sealed
        seals: list[RecordingSeal] = []
        seq, prev = self._last
        for key in sorted(candidates - sealed):
            digests = self._digests(key)
            if digests is None:
                continue
            self._refused.discard(key)
            seq += 1
            seals.append(seal_recording(seq, key, *digests, prev=prev, sealed_at=sealed_at))
            prev = seals[-1].hash
        if not seals:
            return 0
        try:
            db.append_recording_seals(seals, after=self._last[0])
        except ChainMoved:
            self._last = None  # another sealer was quicker: list everything next round
            return 0
        self._last = (seq, prev)
        return len(seals)

    def _digests(self, key: RecordingKey) -> tuple[str, str] | None:
        """(audio, manifest) digests, or None if the two disagree: that is left unsealed
        (and reported by verification) rather than sealed as if it were right."""
        manifest = self.files.manifest(key)
        if manifest is not None and undeleted(manifest) is not None:
            # Deleted before it was sealed: its record is the chained RecordingDeleted, and
            # there is no audio left to seal (a sealed one keeps its seal).
            return None
        audio = self.files.audio_sha256(key)
        if manifest is None or audio is None or claimed_sha256(manifest) != audio:
            if key not in self._refused:
                self._refused.add(key)
                log.warning("not sealing recording %s: its audio does not match its manifest",
                            describe(key))
            return None
        return audio, sha256_of(manifest)
