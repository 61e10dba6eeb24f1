"""Recordings deleted with a record: their `RecordingDeleted` events, and what their
files must look like afterwards.

A deletion rewrites the manifest (state `deleted`, with when, by whom and why) and
removes the audio. Such a recording is reported as deleted, not as a finding, when
its manifest is the one sealed except for the deletion's fields, those fields say
what the event says, and the audio deleted is the audio sealed. Audio still present
after the event is a deletion the segment store has not finished (it converges), and
is accepted only while it is still the audio sealed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.call import Call
from domain.clock import iso_millis
from domain.ids import call_stream_id
from recaudit.adapters.integrity.chain import RecordingKey, RecordingSeal
from recaudit.adapters.integrity.findings import Finding, Kind
from recaudit.adapters.integrity.recordings import claimed_sha256, describe, sha256_of

TOPIC = Call.RecordingDeleted.TOPIC
DELETED, CLOSED = "deleted", "closed"
DELETION_FIELDS = ("deleted_at", "deleted_by", "deleted_reason", "deleted_note")


@dataclass(frozen=True)
class DeletedRecording:
    org_id: str
    call_id: str
    recording_no: int
    reason: str
    by: str
    at: str  # ISO 8601 with milliseconds, as the manifest says it
    sha256: str | None  # the digest of the audio deleted (None: it had none)
    note: str | None = None  # the reason given in words

    @property
    def key(self) -> RecordingKey:
        return self.org_id, self.call_id, self.recording_no

    def line(self) -> str:
        return (f"deleted: recording {describe(self.key)}: {self.reason} by {self.by} at "
                f"{self.at}")

    def to_json(self) -> dict[str, Any]:
        return {"recording": describe(self.key), "reason": self.reason, "by": self.by,
                "at": self.at, "sha256": self.sha256}


def deletion_of(state: bytes, stream: str | None = None) -> DeletedRecording | None:
    """The deletion a stored `RecordingDeleted` state records (None if it is unreadable,
    or, given its `stream`, not of the call it names)."""
    try:
        fields = json.loads(state)
        call_id, org_id = str(fields["call_id"]), str(fields["org_id"])
        deleted = DeletedRecording(org_id, call_id, int(fields["recording_no"]),
                                   str(fields["reason"]), str(fields["by"]),
                                   iso_of(fields["at"]), fields.get("sha256"),
                                   fields.get("note"))
    except (ValueError, KeyError, TypeError):
        return None
    if stream is not None and call_stream_id(deleted.call_id).hex != stream:
        return None
    return deleted


def deletions(states: Iterable[bytes]) -> dict[RecordingKey, DeletedRecording]:
    found = (deletion_of(state) for state in states)
    return {d.key: d for d in found if d is not None}


def iso_of(value: Any) -> str:
    """A stored datetime (the store's `{"_type_": "datetime_iso", "_data_": ...}`) as the
    manifests write it: UTC, milliseconds, `Z`."""
    text = value["_data_"] if isinstance(value, dict) else value
    return iso_millis(datetime.fromisoformat(str(text)))


def undeleted(manifest: bytes) -> bytes | None:
    """The manifest as it was before its deletion was written in (None: not a deleted
    manifest)."""
    try:
        document = json.loads(manifest)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("state") != DELETED:
        return None
    for name in DELETION_FIELDS:
        document.pop(name, None)
    document["state"] = CLOSED
    return json.dumps(document, indent=2, sort_keys=True).encode()


def check_deleted(deleted: DeletedRecording, seal: RecordingSeal | None,
                  manifest: bytes | None, audio_sha256: str | None) -> list[Finding]:
    """What is wrong with a recording deleted with a record (nothing, normally)."""
    where = describe(deleted.key)
    findings = []
    if seal is not None and deleted.sha256 is not None and deleted.sha256 != seal.audio_sha256:
        findings.append(Finding(Kind.AUDIO_ALTERED, f"the audio deleted hashed to "
                                f"{deleted.sha256}, sealed as {seal.audio_sha256}",
                                recording=where))
    findings += _manifest(deleted, seal, manifest, where)
    expected = seal.audio_sha256 if seal is not None else deleted.sha256
    if audio_sha256 is not None and audio_sha256 != expected:
        findings.append(Finding(Kind.AUDIO_ALTERED, f"deleted, yet audio hashing to "
                                f"{audio_sha256} is there (the deleted audio hashed to "
                                f"{expected})", recording=where))
    return findings


def _manifest(deleted: DeletedRecording, seal: RecordingSeal | None, manifest: bytes | None,
              where: str) -> list[Finding]:
    if manifest is None:
        return [Finding(Kind.MANIFEST_MISSING, "deleted, and its manifest (which stays) is "
                        "gone", recording=where)]
    if seal is not None and sha256_of(manifest) == seal.manifest_sha256:
        return []  # the segment store has not rewritten it yet
    before = undeleted(manifest)
    if before is None and seal is None and claimed_sha256(manifest) == deleted.sha256:
        return []  # not rewritten yet, and never sealed: it names the audio deleted
    if before is None:
        return [Finding(Kind.MANIFEST_ALTERED, "deleted, and its manifest does not say so",
                        recording=where)]
    findings = []
    if seal is not None and sha256_of(before) != seal.manifest_sha256:
        findings.append(Finding(Kind.MANIFEST_ALTERED, "the manifest differs from the sealed "
                                "one beyond its deletion", recording=where))
    said = json.loads(manifest)
    recorded = {"deleted_at": deleted.at, "deleted_by": deleted.by,
                "deleted_reason": deleted.reason, "deleted_note": deleted.note}
    wrong = [name for name, value in recorded.items() if said.get(name) != value]
    if wrong:
        findings.append(Finding(Kind.MANIFEST_ALTERED, f"its {', '.join(wrong)} differ from "
                                "the recorded deletion", recording=where))
    return findings
