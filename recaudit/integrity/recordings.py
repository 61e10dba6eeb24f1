"""Finished recordings as the chain sees them: the audio file and the manifest of each.

Read through the segment store port, so any adapter behind it (the filesystem
by default) can be sealed and verified. A recording is finished once its
manifest exists; the segment writer stores the audio before the manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from consumers.segments import layout
from consumers.segments.port import SegmentStore

RecordingKey = tuple[str, str, int]  # (org_id, call_id, recording_no)


@dataclass(frozen=True)
class RecordingFiles:
    store: SegmentStore

    def finished(self) -> list[RecordingKey]:
        """Every recording with a manifest, sorted."""
        found = []
        for key in self.store.keys(""):
            parts = key.split("/")
            if len(parts) == 4 and parts[3] == layout.MANIFEST and parts[2].isdigit():
                found.append((parts[0], parts[1], int(parts[2])))
        return sorted(found)

    def manifest(self, key: RecordingKey) -> bytes | None:
        return self.store.get(layout.manifest_key(*key))

    def audio_sha256(self, key: RecordingKey) -> str | None:
        pieces = self.store.stream(layout.wav_key(*key))
        if pieces is None:
            return None
        digest = hashlib.sha256()
        for piece in pieces:
            digest.update(piece)
        return digest.hexdigest()


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
