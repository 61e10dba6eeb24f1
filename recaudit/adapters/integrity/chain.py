"""The hash chains: what is hashed, in which canonical form, and how links follow each other.

Every stored event is hashed from its raw row, never decoded: its position (the
global notification id), its stream (the originator id as 32 hex digits), its
version, its topic and the SHA-256 of its state bytes. The canonical form of
those five values is compact JSON, so no two different rows share one.

Each hash is SHA-256 over the chain's name, the previous hash and the canonical
form. Two chains run through the same links. The global chain links each sealed
event to the one sealed before it (positions need not be contiguous: PostgreSQL
loses ids to failed inserts). The stream chain links each event to the previous
sealed event of its own stream, so one call's history can be checked alone.
Finished recordings have their own chain, over the SHA-256 of the audio file
and of its manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

GENESIS = "0" * 64
NO_STATE = "none"


@dataclass(frozen=True)
class RawEvent:
    """One stored event as the chain sees it: its raw columns, the state as a digest."""

    position: int
    stream: str
    version: int
    topic: str | None
    payload_sha256: str

    @property
    def key(self) -> tuple[str, int]:
        return self.stream, self.version


@dataclass(frozen=True)
class Link:
    """The seal of one event: its hashed columns and its place in both chains."""

    position: int
    stream: str
    version: int
    topic: str | None
    payload_sha256: str
    stream_prev: str
    stream_hash: str
    global_prev: str
    global_hash: str
    sealed_at: str

    @property
    def key(self) -> tuple[str, int]:
        return self.stream, self.version

    def event(self) -> RawEvent:
        """The event as it was when sealed."""
        return RawEvent(self.position, self.stream, self.version, self.topic,
                        self.payload_sha256)


RecordingKey = tuple[str, str, int]  # (org_id, call_id, recording_no)


@dataclass(frozen=True)
class RecordingSeal:
    """The seal of one finished recording: its audio and manifest digests, chained."""

    seq: int
    org_id: str
    call_id: str
    recording_no: int
    audio_sha256: str
    manifest_sha256: str
    prev: str
    hash: str
    sealed_at: str

    @property
    def key(self) -> RecordingKey:
        return self.org_id, self.call_id, self.recording_no


def stream_text(originator_id: object) -> str:
    """The stream id as stored by SQLite (hex text); PostgreSQL returns a UUID."""
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def payload_digest(state: bytes | memoryview | None) -> str:
    return NO_STATE if state is None else hashlib.sha256(bytes(state)).hexdigest()


def raw_event(position: int, originator_id: object, version: int, topic: str | None,
              state: bytes | memoryview | None) -> RawEvent:
    return RawEvent(int(position), stream_text(originator_id), int(version), topic,
                    payload_digest(state))


def canonical(event: RawEvent) -> bytes:
    fields = [event.position, event.stream, event.version, event.topic, event.payload_sha256]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


GLOBAL, STREAM, RECORDING = b"global", b"stream", b"recording"


def chained(chain: bytes, prev: str, body: bytes) -> str:
    """The hash that follows `prev` over `body` in `chain` (named, so that no hash of one
    chain can stand for a hash of another)."""
    return hashlib.sha256(chain + b"\n" + prev.encode("ascii") + b"\n" + body).hexdigest()


def link_for(event: RawEvent, *, global_prev: str, stream_prev: str, sealed_at: str) -> Link:
    body = canonical(event)
    return Link(event.position, event.stream, event.version, event.topic,
                event.payload_sha256, stream_prev, chained(STREAM, stream_prev, body),
                global_prev, chained(GLOBAL, global_prev, body), sealed_at)


def recording_body(seq: int, key: tuple[str, str, int], audio_sha256: str,
                   manifest_sha256: str) -> bytes:
    org_id, call_id, recording_no = key
    fields = [seq, org_id, call_id, recording_no, audio_sha256, manifest_sha256]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


def seal_recording(seq: int, key: tuple[str, str, int], audio_sha256: str,
                   manifest_sha256: str, *, prev: str, sealed_at: str) -> RecordingSeal:
    body = recording_body(seq, key, audio_sha256, manifest_sha256)
    return RecordingSeal(seq, *key, audio_sha256, manifest_sha256, prev,
                         chained(RECORDING, prev, body), sealed_at)


def recording_hash(seal: RecordingSeal) -> str:
    """What the seal's hash must be, recomputed from its contents."""
    body = recording_body(seal.seq, seal.key, seal.audio_sha256, seal.manifest_sha256)
    return chained(RECORDING, seal.prev, body)
