"""What verification finds: one finding per problem, each saying where and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    EDITED = "edited"  # a sealed event's columns changed in place
    DELETED = "deleted"  # a sealed event is gone
    INSERTED = "inserted"  # an event no seal accounts for, below the sealed head
    REORDERED = "reordered"  # a sealed event (or its state) sits where it was not sealed
    CHAIN_BROKEN = "chain_broken"  # a seal does not hash, or does not follow the one before
    REWRITTEN = "rewritten"  # the chain no longer leads to an exported head
    UNSEALED = "unsealed"  # the store holds events and no chain at all
    AUDIO_ALTERED = "audio_altered"
    AUDIO_MISSING = "audio_missing"
    MANIFEST_ALTERED = "manifest_altered"
    MANIFEST_MISSING = "manifest_missing"
    # evidence bundles
    FILE_ALTERED = "file_altered"  # a file's SHA-256 differs from the bundle's manifest
    FILE_MISSING = "file_missing"  # a file the manifest lists is not in the bundle
    FILE_EXTRA = "file_extra"  # a file in the bundle the manifest does not list
    SIGNATURE_INVALID = "signature_invalid"  # the heads' signature does not verify
    INCONSISTENT = "inconsistent"  # two files of the bundle disagree


@dataclass(frozen=True)
class Finding:
    kind: Kind
    detail: str
    position: int | None = None
    stream: str | None = None
    version: int | None = None
    recording: str | None = None
    call_id: str | None = None  # the call of the stream, when it is a call's
    org_id: str | None = None  # the organisation, when the stream is its policy
    file: str | None = None  # the file of an evidence bundle

    def subject(self) -> str | None:
        if self.call_id is not None:
            return f"call {self.call_id}"
        if self.org_id is not None:
            return f"policy of org {self.org_id}"
        return None

    def line(self) -> str:
        where = [f"file {self.file}"] if self.file is not None else []
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.stream is not None:
            subject = self.subject()
            where.append(f"stream {self.stream}" + (f" ({subject})" if subject else ""))
        if self.version is not None:
            where.append(f"version {self.version}")
        if self.recording is not None:
            where.append(f"recording {self.recording}")
        place = " ".join(where) or "store"
        return f"{self.kind.value}: {place}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "position": self.position, "stream": self.stream,
                "call_id": self.call_id, "org_id": self.org_id, "version": self.version,
                "recording": self.recording, "file": self.file, "detail": self.detail}
