"""Read-model ports: where the API reads timelines from, and what can go wrong there.

The HTTP API depends on these only; the ClickHouse projection implements them (see
projections/reader.py), and `recaudit.core.service.DomainTimelineReader` computes the same
view from the event store, as the reference the projection is tested against.
"""

from __future__ import annotations

from typing import Protocol

from recaudit.core.views import TimelineView


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
