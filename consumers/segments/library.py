"""Reading recordings back: the manifests of a call and a recording as a WAV file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from consumers.segments import layout
from consumers.segments.audio import SAMPLE_BYTES, wav_header
from consumers.segments.callstate import CallAudio, Part, Recording
from consumers.segments.desk import SegmentDesk
from consumers.segments.errors import StoreFailure, UnknownRecording
from consumers.segments.render import manifest, pcm, rate_of, sample_ranges


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


def wav(desk: SegmentDesk, call_id: str, recording_no: int) -> tuple[int, Iterator[bytes]]:
    """The recording as a WAV file: its size and its bytes. A recording still open
    gives the audio decided so far."""
    for _attempt in range(3):
        audio = desk.call_audio(call_id)
        recording = audio.recordings.get(recording_no) if audio else None
        if audio is None or recording is None:
            raise UnknownRecording(f"call {call_id!r} has no recording {recording_no}")
        if recording.finalised:
            return _stored_wav(desk, audio, recording_no)
        try:
            return _open_wav(desk, audio, recording)
        except LookupError:
            continue  # finished meanwhile and its parts removed: read the finished file
    raise StoreFailure(f"recording {recording_no} of call {call_id!r} kept changing; retry")


def _stored_wav(desk: SegmentDesk, audio: CallAudio, no: int) -> tuple[int, Iterator[bytes]]:
    key = layout.wav_key(_org(audio), audio.call_id, no)
    size, stream = desk.store.size(key), desk.store.stream(key)
    if size is None or stream is None:
        raise StoreFailure(f"the audio of recording {no} is missing")
    return size, stream


def _open_wav(
    desk: SegmentDesk, audio: CallAudio, recording: Recording
) -> tuple[int, Iterator[bytes]]:
    ranges = sample_ranges(audio, recording, max(audio.decided or 0, 0))
    data_bytes = sum(end - first for first, end in ranges) * SAMPLE_BYTES

    def read(part: Part) -> bytes:
        data = desk.store.get(part.key)
        if data is None:
            raise LookupError(part.key)
        return data

    body = b"".join(pcm(ranges, recording.parts, read))
    header = wav_header(rate_of(audio), data_bytes)
    return len(header) + len(body), iter((header, body))


def _org(audio: CallAudio) -> str:
    return audio.org_id or ""
