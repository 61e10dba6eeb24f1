"""Checking finished recordings: the chain of their seals, and each audio file and manifest
against its seal (sealed recordings) or against each other (recordings not sealed yet).
A recording deleted with a record is checked against its deletion instead (`deleted`)."""

from __future__ import annotations

from recaudit.adapters.integrity.chain import GENESIS, RecordingKey, RecordingSeal, recording_hash
from recaudit.adapters.integrity.deleted import DeletedRecording, check_deleted
from recaudit.adapters.integrity.findings import Finding, Kind
from recaudit.adapters.integrity.recordings import (
    RecordingFiles,
    claimed_sha256,
    describe,
    sha256_of,
)


def check_recordings(seals: list[RecordingSeal], files: RecordingFiles | None,
                     deleted: dict[RecordingKey, DeletedRecording] | None = None
                     ) -> tuple[list[Finding], int]:
    """The findings, and how many finished recordings are not sealed yet."""
    findings = _chain(seals)
    if files is None:
        return findings, 0
    deleted = deleted or {}
    for seal in seals:
        if seal.key in deleted:
            findings += _deleted(deleted[seal.key], seal, files)
        else:
            findings += _sealed(seal, files)
    sealed = {seal.key for seal in seals}
    unsealed = [key for key in files.finished() if key not in sealed]
    for key in unsealed:
        if key in deleted:
            findings += _deleted(deleted[key], None, files)
        else:
            findings += _unsealed(key, files)
    return findings, len([key for key in unsealed if key not in deleted])


def _deleted(deletion: DeletedRecording, seal: RecordingSeal | None,
             files: RecordingFiles) -> list[Finding]:
    return check_deleted(deletion, seal, files.manifest(deletion.key),
                         files.audio_sha256(deletion.key))


def _chain(seals: list[RecordingSeal]) -> list[Finding]:
    findings = []
    prev = GENESIS
    for seal in seals:
        where = describe(seal.key)
        if seal.prev != prev:
            findings.append(Finding(Kind.CHAIN_BROKEN, f"recording seal {seal.seq} does not "
                                    "follow the one before it", recording=where))
        if recording_hash(seal) != seal.hash:
            findings.append(Finding(Kind.CHAIN_BROKEN, f"recording seal {seal.seq} does not "
                                    "hash to its contents", recording=where))
        prev = seal.hash
    return findings


def _sealed(seal: RecordingSeal, files: RecordingFiles) -> list[Finding]:
    where = describe(seal.key)
    findings = []
    manifest = files.manifest(seal.key)
    if manifest is None:
        findings.append(Finding(Kind.MANIFEST_MISSING, "the sealed manifest is gone",
                                recording=where))
    elif sha256_of(manifest) != seal.manifest_sha256:
        findings.append(Finding(Kind.MANIFEST_ALTERED, "the manifest differs from the sealed "
                                "one", recording=where))
    audio = files.audio_sha256(seal.key)
    if audio is None:
        findings.append(Finding(Kind.AUDIO_MISSING, "the sealed audio file is gone",
                                recording=where))
    elif audio != seal.audio_sha256:
        findings.append(Finding(Kind.AUDIO_ALTERED, f"the audio hashes to {audio}, sealed "
                                f"as {seal.audio_sha256}", recording=where))
    return findings


def _unsealed(key: RecordingKey, files: RecordingFiles) -> list[Finding]:
    where = describe(key)
    manifest = files.manifest(key) or b""
    claimed = claimed_sha256(manifest)
    audio = files.audio_sha256(key)
    if audio is None:
        return [Finding(Kind.AUDIO_MISSING, "not sealed yet; its manifest exists but its "
                        "audio file does not", recording=where)]
    if claimed != audio:
        return [Finding(Kind.AUDIO_ALTERED, f"not sealed yet; the audio hashes to {audio}, "
                        f"its manifest says {claimed}", recording=where)]
    return []
