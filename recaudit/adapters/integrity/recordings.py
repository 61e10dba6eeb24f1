"""Finished recordings as the chain sees them: the audio file and the manifest of each.

Read through the segment store port, so any adapter behind it (the filesystem
by default) can be sealed and verified. A recording is finished once its
manifest exists; the segment writer stores the audio before the manifest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from consumers.segments import layout
from consumers.segments.port import Data, SegmentStore, batched
from recaudit.adapters.integrity.chain import RecordingKey


@dataclass(frozen=True)
class RecordingFiles:
    store: SegmentStore

    def finished(self) -> list[RecordingKey]:
        """Every recording with a manifest, sorted."""
        found = [recording for key in self.store.keys("")
                 if (recording := layout.manifest_recording(key)) is not None]
        return sorted(found)

    def of_call(self, org_id: str, call_id: str) -> list[RecordingKey]:
        """The call's recordings with a manifest, by number."""
        found = [recording for key in self.store.keys(f"{org_id}/{call_id}/")
                 if (recording := layout.manifest_recording(key)) is not None]
        return sorted(found, key=lambda recording: recording[2])

    def manifest(self, key: RecordingKey) -> bytes | None:
        return self.store.get(layout.manifest_key(*key))

    def audio(self, key: RecordingKey) -> bytes | None:
        pieces = self.store.stream(layout.wav_key(*key))
        return None if pieces is None else b"".join(pieces)

    def audio_sha256(self, key: RecordingKey) -> str | None:
        pieces = self.store.stream(layout.wav_key(*key))
        if pieces is None:
            return None
        digest = hashlib.sha256()
        for piece in pieces:
            digest.update(piece)
        return digest.hexdigest()


class FinishedInbox:
    """Recordings finished by this process and not yet looked at by the sealer.

    The sealer of `recaudit serve` takes them each round instead of listing every
    recording ever stored, so a round costs what is new, not what has accumulated.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[RecordingKey] = set()

    def add(self, key: RecordingKey) -> None:
        with self._lock:
            self._keys.add(key)

    def take(self) -> set[RecordingKey]:
        with self._lock:
            taken, self._keys = self._keys, set()
        return taken


class AnnouncingStore:
    """A segment store that tells an inbox of every manifest once it is stored."""

    def __init__(self, store: SegmentStore, inbox: FinishedInbox) -> None:
        self.inner = store
        self.inbox = inbox

    def put(self, key: str, data: Data) -> int:
        stored = self.inner.put(key, data)
        recording = layout.manifest_recording(key)
        if recording is not None:
            self.inbox.add(recording)
        return stored

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def batched(self) -> AbstractContextManager[Callable[[], None]]:
        return batched(self.inner)

    def stream(self, key: str, start: int = 0, length: int | None = None
               ) -> Iterator[bytes] | None:
        return self.inner.stream(key, start, length)

    def size(self, key: str) -> int | None:
        return self.inner.size(key)

    def keys(self, prefix: str = "") -> list[str]:
        return self.inner.keys(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def recover(self) -> int:
        return self.inner.recover()

    def purge(self, prefix: str, keep: str | None = None) -> int:
        return self.inner.purge(prefix, keep)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def claimed_sha256(manifest: bytes) -> str | None:
    """The audio digest a manifest states, or None if it states none or is unreadable."""
    try:
        document = json.loads(manifest)
    except ValueError:
        return None
    claimed = document.get("sha256") if isinstance(document, dict) else None
    return claimed if isinstance(claimed, str) else None


def describe(key: RecordingKey) -> str:
    org_id, call_id, recording_no = key
    return f"{org_id}/{call_id}/{recording_no}"
