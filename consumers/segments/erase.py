"""Deleting a recording's audio, when its call's `RecordingDeleted` is applied.

The event is stored before any byte goes, so audio is never gone without a record.
The manifest is rewritten first (state `deleted`, with who, when and why), then
every other file of the recording goes: the WAV, parts, temporaries. Applying
the same event again (a re-delivery, or a restart after a crash half-way) does
the rest and changes nothing more, so every interruption converges on "deleted
and recorded".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from consumers.segments import layout
from consumers.segments.port import SegmentStore
from domain.clock import iso_millis
from domain.published import PublishedEvent

log = logging.getLogger(__name__)
DELETED = "deleted"


def erase(store: SegmentStore, event: PublishedEvent,
          pause: Callable[[], None] = lambda: None) -> int:
    """Apply one `RecordingDeleted`; returns how many files were removed."""
    f = event.fields
    org_id, call_id, number = f["org_id"], f["call_id"], int(f["recording_no"])
    key = layout.manifest_key(org_id, call_id, number)
    raw = store.get(key)
    document: dict[str, Any] = json.loads(raw) if raw else {"recording_no": number}
    if document.get("state") != DELETED:
        document.update(deletion_fields(event))
        store.put(key, json.dumps(document, indent=2, sort_keys=True).encode())
        pause()
    removed = store.purge(layout.recording_prefix(org_id, call_id, number), keep=key)
    if removed:
        log.info("call %s: recording %d deleted (%s by %s), %d files removed", call_id,
                 number, f["reason"], f["by"], removed)
    return removed


def deletion_fields(event: PublishedEvent) -> dict[str, Any]:
    f = event.fields
    return {
        "state": DELETED,
        "deleted_at": iso_millis(f["at"]),
        "deleted_by": f["by"],
        "deleted_reason": f["reason"],
        "deleted_note": f.get("note"),
    }
