"""Naming the streams of findings: the call (or the organisation of a policy) beside the
stream UUID, so that a finding says which call's history was touched.

A stream id is a name-based UUID of the call id or the org id (domain.ids), which cannot be
reversed; the name is read from the stream's own stored events and kept only if it hashes
back to the stream id, so an edited event cannot put a wrong name on a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from domain.ids import call_stream_id, policy_stream_id
from recaudit.adapters.integrity.database import ChainDatabase
from recaudit.adapters.integrity.findings import Finding

TRIES = 10  # events of a stream read for its name, at most


def name_streams(db: ChainDatabase, findings: Iterable[Finding]) -> list[Finding]:
    found = list(findings)
    names = {stream: stream_name(stream, db.stream_states(stream, TRIES))
             for stream in {f.stream for f in found if f.stream is not None}}
    return [_named(f, *names[f.stream]) if f.stream in names else f for f in found]


def _named(finding: Finding, call_id: str | None, org_id: str | None) -> Finding:
    return replace(finding, call_id=call_id, org_id=org_id)


def stream_name(stream: str, states: Iterable[bytes]) -> tuple[str | None, str | None]:
    """(call_id, None) for a call's stream, (None, org_id) for a policy's, (None, None) if
    no stored event proves either."""
    for state in states:
        fields = _decoded(state)
        call_id, org_id = fields.get("call_id"), fields.get("org_id")
        if isinstance(call_id, str) and call_stream_id(call_id).hex == stream:
            return call_id, None
        if isinstance(org_id, str) and policy_stream_id(org_id).hex == stream:
            return None, org_id
    return None, None


def _decoded(state: bytes) -> dict[str, Any]:
    try:
        value = json.loads(state)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
