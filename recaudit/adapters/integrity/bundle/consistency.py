"""Checking that the timeline and the access log of a bundle say what its events say."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.build import access_log, stored_iso
from recaudit.adapters.integrity.bundle.rows import BundleRow
from recaudit.adapters.integrity.findings import Finding, Kind


def _state(row: BundleRow) -> dict[str, Any]:
    try:
        value = json.loads(row.state) if row.state is not None else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_timeline(timeline: Any, call_rows: Sequence[BundleRow],
                   call_id: str | None) -> list[Finding]:
    if not isinstance(timeline, dict):
        return [Finding(Kind.INCONSISTENT, "there is no timeline", file=layout.TIMELINE)]
    if not call_rows:
        return []
    started = _state(call_rows[0])
    expected = {"call_id": started.get("call_id"), "org_id": started.get("org_id"),
                "started_at": stored_iso(started.get("at"))}
    if call_id is not None and call_id != expected["call_id"]:
        return [Finding(Kind.INCONSISTENT, f"the signed heads are of call {call_id}, the "
                        f"events of call {expected['call_id']}", file=layout.HEADS)]
    wrong = [f"{name} is {timeline.get(name)!r}, the events say {value!r}"
             for name, value in expected.items() if timeline.get(name) != value]
    return [Finding(Kind.INCONSISTENT, "; ".join(wrong), file=layout.TIMELINE)] if wrong else []


def check_access_log(entries: Any, access_rows: Sequence[BundleRow]) -> list[Finding]:
    rows = [(row.event.position, row.event.stream, row.event.version, row.event.topic,
             row.state) for row in access_rows]
    expected = access_log(rows)
    if entries != expected:
        count = len(entries) if isinstance(entries, list) else 0
        return [Finding(Kind.INCONSISTENT, f"it has {count} entries that differ from the "
                        f"{len(expected)} RecordAccessed events", file=layout.ACCESS_LOG)]
    return []
