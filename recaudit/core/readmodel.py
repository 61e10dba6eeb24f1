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


class TimelineReader(Protocol):
    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        """The call's timeline once the read model has applied `min_position` (if given).

        Raises UnknownCall, ProjectionBehind or ProjectionUnavailable.
        """
        ...
