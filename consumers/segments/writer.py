"""Storing what was decided: parts, finished recordings, then the call's state.

The order makes every crash safe. Parts and a finished recording's WAV and
manifest are written before the call's state that refers to them, so a state
never points at a missing object; an interrupted round is simply done again
from the previous state (same names, same bytes). Parts of a finished recording
are deleted only after the state that no longer needs them is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

from consumers.segments import layout
from consumers.segments.audio import SAMPLE_BYTES, wav_header
from consumers.segments.callstate import CallAudio, Part, Recording
from consumers.segments.decide import Entry, settle
from consumers.segments.errors import StoreFailure
from consumers.segments.held import Run
from consumers.segments.port import SegmentStore
from consumers.segments.render import manifest, pcm, rate_of, sample_ranges


def store_entry(store: SegmentStore, entry: Entry, *, save_state: bool = True) -> list[str]:
    """Write one call's decided audio, finish what can be finished, save its state (unless
    `save_state` is false: the caller then stores it, after this).

    Returns the prefixes of part keys that may now be deleted.
    """
    audio = entry.audio
    _write_parts(store, entry)
    finished = []
    for recording_no in settle(entry):
        recording = audio.recordings[recording_no]
        _finish(store, audio, recording)
        finished.append(layout.recording_prefix(_org(audio), audio.call_id, recording_no)
                        + layout.PARTS)
    if save_state:
        save_call_state(store, audio)
    return finished


def save_call_state(store: SegmentStore, audio: CallAudio) -> None:
    store.put(layout.call_key(audio.call_id), audio.to_json())


def delete_parts(store: SegmentStore, prefixes: Iterable[str]) -> None:
    for prefix in prefixes:
        for key in store.keys(prefix):
            store.delete(key)


def _write_parts(store: SegmentStore, entry: Entry) -> None:
    audio = entry.audio
    for recording_no, runs in sorted(entry.writes.items()):
        recording = audio.recordings[recording_no]
        for first, data in _merged(runs):
            key = layout.part_key(_org(audio), audio.call_id, recording_no, first)
            store.put(key, data)
            recording.parts.append(Part(first, len(data) // SAMPLE_BYTES, key))
    entry.writes.clear()


def _merged(runs: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for first, data in sorted(runs):
        if merged and merged[-1][0] + len(merged[-1][1]) // SAMPLE_BYTES == first:
            merged[-1] = (merged[-1][0], merged[-1][1] + data)
        else:
            merged.append((first, data))
    return merged


def _finish(store: SegmentStore, audio: CallAudio, recording: Recording) -> None:
    """Write the recording's WAV and manifest; its parts are no longer needed after this."""
    ranges = sample_ranges(audio, recording, audio.decided or 0)
    data_bytes = sum(end - first for first, end in ranges) * SAMPLE_BYTES
    digest = hashlib.sha256()

    def wav() -> Iterator[bytes]:
        for piece in _chain(wav_header(rate_of(audio), data_bytes), ranges, store, recording):
            digest.update(piece)
            yield piece

    org = _org(audio)
    store.put(layout.wav_key(org, audio.call_id, recording.no), wav())
    recording.finalised = True
    body = manifest(audio, recording, sha256=digest.hexdigest(), data_bytes=data_bytes)
    document = json.dumps(body, indent=2, sort_keys=True).encode()
    store.put(layout.manifest_key(org, audio.call_id, recording.no), document)
    recording.parts = []


def _chain(
    header: bytes, ranges: list[tuple[int, int]], store: SegmentStore, recording: Recording
) -> Iterator[bytes]:
    yield header
    yield from pcm(ranges, recording.parts, lambda part: _read(store, part))


def _read(store: SegmentStore, part: Part) -> bytes:
    data = store.get(part.key)
    if data is None or len(data) != part.samples * SAMPLE_BYTES:
        raise StoreFailure(f"part {part.key} is missing or damaged")
    return data


def _org(audio: CallAudio) -> str:
    if audio.org_id is None:
        raise ValueError(f"call {audio.call_id} has no organisation yet")
    return audio.org_id
