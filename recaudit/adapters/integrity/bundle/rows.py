"""Stored events as bundle rows, and their stream chain recomputed from the rows alone.

A row keeps the state exactly as stored (base64), which is what the chain hashes; the
decoded JSON beside it is for reading, and must say the same.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from recaudit.adapters.integrity.chain import (
    GENESIS,
    GLOBAL,
    STREAM,
    Link,
    RawEvent,
    canonical,
    chained,
    raw_event,
)
from recaudit.adapters.integrity.findings import Finding, Kind

StoredRow = tuple[int, str, int, str | None, bytes | None]


def row_json(row: StoredRow) -> dict[str, Any]:
    position, stream, version, topic, state = row
    return {"position": position, "stream": stream, "version": version, "topic": topic,
            "state_base64": None if state is None else base64.b64encode(state).decode(),
            "state": _decoded(state)}


def link_json(link: Link) -> dict[str, Any]:
    return asdict(link)


def _decoded(state: bytes | None) -> Any:
    if state is None:
        return None
    try:
        return json.loads(state)
    except ValueError:
        return None


@dataclass(frozen=True)
class BundleRow:
    """One row read back from a bundle: the event the chain hashes, and its state."""

    event: RawEvent
    state: bytes | None


def parse_row(document: Any) -> BundleRow:
    """A bundle row as the event it stands for; ValueError if it is malformed."""
    if not isinstance(document, dict):
        raise ValueError("an event must be a JSON object")
    encoded = document.get("state_base64")
    try:
        state = None if encoded is None else base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError) as exc:
        raise ValueError(f"its state_base64 is not base64: {exc}") from exc
    if _decoded(state) != document.get("state"):
        raise ValueError("its decoded state differs from its stored state")
    position, stream, version = document["position"], document["stream"], document["version"]
    if not (_whole(position) and _whole(version) and isinstance(stream, str)):
        raise ValueError("its position, stream or version is malformed")
    topic = document.get("topic")
    if topic is not None and not isinstance(topic, str):
        raise ValueError("its topic is malformed")
    return BundleRow(raw_event(position, stream, version, topic, state), state)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass
class StreamChain:
    """Recomputes one stream's chain over its rows, in order, against the sealed links."""

    file: str
    links: dict[int, Link]
    findings: list[Finding]
    prev: str = GENESIS
    version: int = 0
    position: int = 0

    def walk(self, rows: Sequence[BundleRow]) -> None:
        for row in rows:
            self._row(row.event)

    def _row(self, event: RawEvent) -> None:
        def found(kind: Kind, detail: str) -> None:
            self.findings.append(Finding(kind, detail, event.position, event.stream,
                                         event.version, file=self.file))

        if event.position <= self.position or event.version <= self.version:
            found(Kind.REORDERED, f"it comes after position {self.position} version "
                  f"{self.version}")
        elif event.version != self.version + 1:
            found(Kind.DELETED, f"versions {self.version + 1}..{event.version - 1} are "
                  "missing before it")
        link = self.links.get(event.position)
        body = canonical(event)
        expected = chained(STREAM, self.prev, body)
        if link is None:
            found(Kind.INSERTED, "no seal accounts for this event")
        elif link.event() != event:
            found(Kind.EDITED, f"it differs from its seal in {_differences(event, link)}")
        elif link.stream_hash != expected or link.stream_prev != self.prev:
            found(Kind.CHAIN_BROKEN, "its stream hash does not follow from the events "
                  "before it")
        elif chained(GLOBAL, link.global_prev, body) != link.global_hash:
            found(Kind.CHAIN_BROKEN, "its global hash does not match its contents")
        self.prev = link.stream_hash if link is not None else expected
        self.version = max(self.version, event.version)
        self.position = max(self.position, event.position)


def _differences(event: RawEvent, link: Link) -> str:
    names = [name for name in ("position", "stream", "version", "topic", "payload_sha256")
             if getattr(event, name) != getattr(link, name)]
    return ", ".join(names)
