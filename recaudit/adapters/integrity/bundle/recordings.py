"""Checking a bundle's recordings: their seals against the signed heads, each WAV and
manifest against its seal, and a deleted recording against its `RecordingDeleted`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.rows import BundleRow
from recaudit.adapters.integrity.chain import RecordingSeal, recording_hash
from recaudit.adapters.integrity.deleted import (
    TOPIC,
    DeletedRecording,
    check_deleted,
    deletion_of,
)
from recaudit.adapters.integrity.findings import Finding, Kind
from recaudit.adapters.integrity.recordings import claimed_sha256, sha256_of

_RECORDING_FILE = re.compile(r"recordings/(\d+)/(manifest\.json|recording\.wav)")


def check_recordings(files: dict[str, bytes], call_rows: Sequence[BundleRow],
                     heads: dict[str, Any], found: list[Finding]) -> tuple[int, int]:
    """Adds the findings to `found`; returns (recordings, of which deleted)."""
    seals = _seals(files, heads, found)
    deleted = _deletions(call_rows)
    numbers = {int(m.group(1)) for name in files if (m := _RECORDING_FILE.fullmatch(name))}
    numbers |= set(seals) | set(deleted)
    for number in sorted(numbers):
        found += _recording(files, number, seals.get(number), deleted.get(number))
    return len(numbers), len(deleted)


def _seals(files: dict[str, bytes], heads: dict[str, Any],
           found: list[Finding]) -> dict[int, RecordingSeal]:
    try:
        documents = json.loads(files.get(layout.SEALS, b"[]"))
        seals = [RecordingSeal(**document) for document in documents]
    except (ValueError, TypeError) as exc:
        found.append(Finding(Kind.CHAIN_BROKEN, f"the seals are malformed: {exc}",
                             file=layout.SEALS))
        return {}
    signed = heads.get("recordings")
    named = {(s.get("seq"), s.get("recording_no"), s.get("hash"))
             for s in (signed if isinstance(signed, list) else []) if isinstance(s, dict)}
    for seal in seals:
        where = _name(seal.recording_no)
        if recording_hash(seal) != seal.hash:
            found.append(Finding(Kind.CHAIN_BROKEN, f"seal {seal.seq} does not hash to its "
                                 "contents", file=layout.SEALS, recording=where))
        if (seal.seq, seal.recording_no, seal.hash) not in named:
            found.append(Finding(Kind.REWRITTEN, f"seal {seal.seq} is not among the signed "
                                 "heads' recordings", file=layout.SEALS, recording=where))
    present = {(s.seq, s.recording_no, s.hash) for s in seals}
    for seq, number, _hash in sorted(named - present, key=str):
        found.append(Finding(Kind.DELETED, f"the signed heads name seal {seq}, which is not "
                             "in the bundle", file=layout.SEALS, recording=f"recording {number}"))
    return {seal.recording_no: seal for seal in seals}


def _deletions(call_rows: Sequence[BundleRow]) -> dict[int, DeletedRecording]:
    found = {}
    for row in call_rows:
        if row.event.topic == TOPIC and row.state is not None:
            deletion = deletion_of(row.state, row.event.stream)
            if deletion is not None:
                found[deletion.recording_no] = deletion
    return found


def _recording(files: dict[str, bytes], number: int, seal: RecordingSeal | None,
               deletion: DeletedRecording | None) -> list[Finding]:
    manifest = files.get(layout.manifest_path(number))
    wav = files.get(layout.wav_path(number))
    audio = sha256_of(wav) if wav is not None else None
    if deletion is not None:
        found = check_deleted(deletion, seal, manifest, audio)
        return [replace(f, recording=_name(number), file=_file_of(f, number)) for f in found]
    if seal is not None:
        return _sealed(number, seal, manifest, audio)
    return _unsealed(number, manifest, audio)


def _sealed(number: int, seal: RecordingSeal, manifest: bytes | None,
            audio: str | None) -> list[Finding]:
    where = _name(number)
    found = []
    if manifest is None:
        found.append(Finding(Kind.MANIFEST_MISSING, "the sealed manifest is not in the "
                             "bundle", file=layout.manifest_path(number), recording=where))
    elif sha256_of(manifest) != seal.manifest_sha256:
        found.append(Finding(Kind.MANIFEST_ALTERED, "the manifest differs from the sealed "
                             "one", file=layout.manifest_path(number), recording=where))
    if audio is None:
        found.append(Finding(Kind.AUDIO_MISSING, "the sealed audio is not in the bundle and "
                             "no deletion is recorded", file=layout.wav_path(number),
                             recording=where))
    elif audio != seal.audio_sha256:
        found.append(Finding(Kind.AUDIO_ALTERED, f"the audio hashes to {audio}, sealed as "
                             f"{seal.audio_sha256}", file=layout.wav_path(number),
                             recording=where))
    elif manifest is not None and claimed_sha256(manifest) != audio:
        found.append(Finding(Kind.MANIFEST_ALTERED, "the manifest's sha256 is not the "
                             "audio's", file=layout.manifest_path(number), recording=where))
    return found


def _unsealed(number: int, manifest: bytes | None, audio: str | None) -> list[Finding]:
    """A recording without a seal: still open (no audio file yet), or its audio and its
    manifest must agree."""
    where = _name(number)
    if manifest is None:
        return [Finding(Kind.MANIFEST_MISSING, "audio without a manifest",
                        file=layout.manifest_path(number), recording=where)]
    if audio is None and _state(manifest) == "open":
        return []
    if audio != claimed_sha256(manifest):
        return [Finding(Kind.AUDIO_ALTERED, "not sealed, and the audio does not match its "
                        "manifest", file=layout.wav_path(number), recording=where)]
    return []


def _state(manifest: bytes) -> Any:
    try:
        document = json.loads(manifest)
    except ValueError:
        return None
    return document.get("state") if isinstance(document, dict) else None


def _file_of(finding: Finding, number: int) -> str:
    if finding.kind in (Kind.AUDIO_ALTERED, Kind.AUDIO_MISSING):
        return layout.wav_path(number)
    return layout.manifest_path(number)


def _name(number: int) -> str:
    return f"recording {number}"
