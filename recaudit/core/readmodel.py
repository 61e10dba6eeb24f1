"""Read-model ports: where the API reads timelines from, and what can go wrong there.

The HTTP API depends on these only (timelines, and lists of call summaries in keyset
pages); the ClickHouse projection implements them (see
projections/reader.py), and `recaudit.core.service.DomainTimelineReader` computes the same
view from the event store, as the reference the projection is tested against.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.rules import CallState, Mode
from recaudit.core.views import CallSummary, Dashboard, TimelineView


class ReadModelError(Exception):
    """Root of read-model errors."""


class ProjectionBehind(ReadModelError):
    """The projection has not applied the requested position yet: retry shortly."""


class ProjectionUnavailable(ReadModelError):
    """The projection store cannot be read right now: retry later."""


class RebuildInProgress(ReadModelError):
    """A rebuild is already running: wait for it to finish."""


class PositionBeyondHead(ReadModelError):
    """A `min_position` that no stored event has reached: waiting could not help."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(
            f"min_position {position} is beyond the event store's head, position {head}: "
            "no event is stored there yet (use the position a command answered with)"
        )
        self.position = position
        self.head = head


class StoredLog(Protocol):
    """What a read model asks of the event store (port; `EventStore` answers)."""

    def head(self) -> int:
        """The position of the latest stored event (0: none)."""
        ...

    def call_version_at(self, call_id: str, position: int) -> int | None:
        """The version of the call's last event at or before `position` (None: none)."""
        ...


def require_stored(log: StoredLog, position: int) -> None:
    """Refuse at once a `min_position` beyond the store's head (raises PositionBeyondHead)."""
    head = log.head()
    if position > head:
        raise PositionBeyondHead(position, head)


class TimelineReader(Protocol):
    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        """The call's timeline once the read model has applied `min_position` (if given).

        Raises UnknownCall, PositionBeyondHead, ProjectionBehind or ProjectionUnavailable.
        """
        ...


DEFAULT_PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True)
class CallKey:
    """Where a page of calls ends: calls are listed by (started_at, call_id), newest first."""

    started_ms: int  # epoch milliseconds
    call_id: str

    def encode(self) -> str:
        """The opaque cursor a client sends back as `after`."""
        text = json.dumps([self.started_ms, self.call_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> CallKey:
        """The key a cursor holds; ValueError if it is not one this server made."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            started_ms, call_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise ValueError("not a cursor given by this server (send `next` unchanged)") \
                from None
        if not isinstance(started_ms, int) or isinstance(started_ms, bool) or \
                not isinstance(call_id, str) or started_ms < 0:
            raise ValueError("not a cursor given by this server (send `next` unchanged)")
        return cls(started_ms, call_id)


@dataclass(frozen=True)
class CallQuery:
    """Which call summaries to list; None means "any". Reach is applied by the caller,
    which narrows `org_ids` and `agent_id` to what the token may see."""

    org_ids: tuple[str, ...] | None = None  # None: every organisation
    agent_id: str | None = None
    mode: Mode | None = None
    state: CallState | None = None
    started_from: datetime | None = None  # inclusive
    started_to: datetime | None = None  # exclusive
    call_id_prefix: str | None = None
    refused: bool | None = None  # True: only calls with refusals; False: only without
    min_pause_ms: int | None = None
    legal_hold: bool | None = None
    after: CallKey | None = None
    limit: int = DEFAULT_PAGE


@dataclass(frozen=True)
class CallPage:
    calls: tuple[CallSummary, ...]
    next: CallKey | None  # None: this is the last page

    def to_json(self) -> dict[str, object]:
        return {"calls": [c.to_json() for c in self.calls],
                "next": self.next.encode() if self.next else None}


class Listings(Protocol):
    """Lists the read model answers (each raises ProjectionBehind or ProjectionUnavailable)."""

    def calls(self, query: CallQuery, min_position: int | None = None) -> CallPage:
        """One page of call summaries, newest first, once the read model has applied
        `min_position` (if given)."""
        ...

    def policy_orgs(self) -> list[str]:
        """The organisations that have a policy stream, in order."""
        ...


@dataclass(frozen=True)
class DashboardQuery:
    """Which calls a dashboard covers: organisations (None: every one) and a period of
    call starts (`started_from` inclusive, `started_to` exclusive; None: unbounded)."""

    org_ids: tuple[str, ...] | None = None
    agent_id: str | None = None  # the calls an agent has had (an agent's own dashboard)
    started_from: datetime | None = None
    started_to: datetime | None = None


class Dashboards(Protocol):
    def dashboard(self, query: DashboardQuery) -> Dashboard:
        """The dashboard's figures (raises ProjectionUnavailable)."""
        ...
