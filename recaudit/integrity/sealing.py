"""Extending the chains: seal the events after the sealed head, and new finished recordings.

Each batch is appended in one transaction that first checks nobody else
extended the chain meanwhile (two sealers never interleave; the loser retries
from the new head). Events are sealed in position order, each linked to the
previously sealed one, so gaps in positions are simply skipped over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from recaudit.integrity.chain import (
    GENESIS,
    Link,
    RawEvent,
    RecordingSeal,
    link_for,
    seal_recording,
)
from recaudit.integrity.database import ChainDatabase
from recaudit.integrity.errors import ChainMoved
from recaudit.integrity.recordings import (
    RecordingFiles,
    RecordingKey,
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
    """Seals finished recordings; remembers which are sealed between rounds."""

    files: RecordingFiles
    _known: set[RecordingKey] | None = None
    _last: tuple[int, str] = (0, GENESIS)
    _refused: set[RecordingKey] = field(default_factory=set)

    def seal(self, db: ChainDatabase, sealed_at: str) -> int:
        if self._known is None:
            self._load(db)
        known = self._known or set()
        seals: list[RecordingSeal] = []
        seq, prev = self._last
        for key in self.files.finished():
            if key in known:
                continue
            digests = self._digests(key)
            if digests is None:
                continue
            seq += 1
            seals.append(seal_recording(seq, key, *digests, prev=prev, sealed_at=sealed_at))
            prev = seals[-1].hash
        if not seals:
            return 0
        try:
            db.append_recording_seals(seals, after=self._last[0])
        except ChainMoved:
            self._known = None  # another sealer was quicker: reload next round
            return 0
        known.update(seal.key for seal in seals)
        self._last = (seq, prev)
        return len(seals)

    def _load(self, db: ChainDatabase) -> None:
        seals = db.recording_seals()
        self._known = {seal.key for seal in seals}
        self._last = (seals[-1].seq, seals[-1].hash) if seals else (0, GENESIS)

    def _digests(self, key: RecordingKey) -> tuple[str, str] | None:
        """(audio, manifest) digests, or None if the two disagree: that is left unsealed
        (and reported by verification) rather than sealed as if it were right."""
        manifest = self.files.manifest(key)
        audio = self.files.audio_sha256(key)
        if manifest is None or audio is None or claimed_sha256(manifest) != audio:
            if key not in self._refused:
                self._refused.add(key)
                log.warning("not sealing recording %s: its audio does not match its manifest",
                            describe(key))
            return None
        return audio, sha256_of(manifest)
