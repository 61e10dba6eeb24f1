"""The states of the open calls that have no audio, stored together as one object.

A call that has sent no audio has nothing of its own on disk while it is open: its
state (the spans the events gave it, how far it is decided) is one member of
`_quiet_calls.json` (`{"calls": [state, ...]}`), which a round rewrites once however many
such calls it touched, instead of one state file per call. A call gets its own state
file, and leaves this object, once it has audio or when it is finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from consumers.segments import layout
from consumers.segments.port import SegmentStore


class QuietStates:
    def __init__(self, store: SegmentStore) -> None:
        self.store = store
        self._states: dict[str, bytes] | None = None

    def get(self, call_id: str) -> bytes | None:
        return self._loaded().get(call_id)

    def save(self, changed: dict[str, bytes], removed: Iterable[str]) -> None:
        """Store the object with `changed` states replaced and `removed` calls left out
        (durable on return, or at the flush of the store's batch it is put in); nothing
        is written if that changes nothing."""
        before = self._loaded()
        gone = [call_id for call_id in removed if call_id in before]
        if not gone and all(before.get(k) == v for k, v in changed.items()):
            return
        states = before | changed
        for call_id in gone:
            del states[call_id]
        listed = b",".join(states[k] for k in sorted(states))
        self.store.put(layout.QUIET_CALLS, b'{"calls":[' + listed + b"]}")
        self._states = states

    def _loaded(self) -> dict[str, bytes]:
        if self._states is None:
            raw = self.store.get(layout.QUIET_CALLS)
            calls = json.loads(raw)["calls"] if raw else []
            self._states = {str(c["call_id"]): _encoded(c) for c in calls}
        return self._states


def _encoded(state: dict[str, Any]) -> bytes:
    """A state as `CallAudio.to_json` writes it."""
    return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
