"""Reading recordings back: the manifests of a call, and a closed recording's WAV file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from consumers.segments import layout
from consumers.segments.callstate import CallAudio, Recording
from consumers.segments.desk import SegmentDesk
from consumers.segments.erase import DELETED
from consumers.segments.errors import RecordingGone, RecordingOpen, StoreFailure, UnknownRecording
from consumers.segments.port import SegmentStore
from consumers.segments.render import manifest


def recordings(desk: SegmentDesk, call_id: str) -> list[dict[str, Any]]:
    """Every recording of the call, finished or not, by number."""
    audio = desk.call_audio(call_id)
    if audio is None:
        return []
    return [_manifest(desk, audio, audio.recordings[no]) for no in sorted(audio.recordings)]


def _manifest(desk: SegmentDesk, audio: CallAudio, recording: Recording) -> dict[str, Any]:
    if recording.finalised:
        raw = desk.store.get(layout.manifest_key(_org(audio), audio.call_id, recording.no))
        if raw is None:
            raise StoreFailure(f"the manifest of recording {recording.no} is missing")
        document: dict[str, Any] = json.loads(raw)
        return document
    return manifest(audio, recording, sha256=None, data_bytes=None)


@dataclass(frozen=True)
class WavFile:
    """A closed recording's WAV file: its size and digest, read in byte ranges."""

    size: int
    sha256: str
    store: SegmentStore
    key: str

    def read(self, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """`length` bytes (all the rest if None) from byte `start`, streamed."""
        stream = self.store.stream(self.key, start, length)
        if stream is None:
            raise StoreFailure(f"the audio file {self.key} is missing")
        return stream


def wav(desk: SegmentDesk, call_id: str, recording_no: int) -> WavFile:
    """The recording's WAV file; only a closed recording has one (an open recording's
    audio is still being decided, so it is refused rather than served in part)."""
    audio = desk.call_audio(call_id)
    recording = audio.recordings.get(recording_no) if audio else None
    if audio is None or recording is None:
        raise UnknownRecording(f"call {call_id!r} has no recording {recording_no}")
    if not recording.finalised:
        raise RecordingOpen(
            f"recording {recording_no} of call {call_id!r} is still open; its WAV file is "
            f"served once the recording is closed (its state in the recordings list)")
    document = _manifest(desk, audio, recording)
    if document.get("state") == DELETED:
        raise RecordingGone(
            f"recording {recording_no} of call {call_id!r} was deleted "
            f"({document.get('deleted_reason')} by {document.get('deleted_by')} at "
            f"{document.get('deleted_at')}); its manifest remains in the recordings list")
    key = layout.wav_key(_org(audio), audio.call_id, recording_no)
    size = desk.store.size(key)
    sha256 = document["sha256"]
    if size is None or not isinstance(sha256, str):
        raise StoreFailure(f"the audio of recording {recording_no} is missing")
    return WavFile(size, sha256, desk.store, key)


def _org(audio: CallAudio) -> str:
    return audio.org_id or ""
