"""Read-model ports: where the API reads timelines from, and what can go wrong there.

The HTTP API depends on these only; the ClickHouse projection implements them (see
projections/reader.py), and `DomainTimelineReader` computes the same view from the event
store, as the reference the projection is tested against.
"""

from __future__ import annotations

from typing import Protocol

from recaudit.core.service import RecordingService
from recaudit.core.views import TimelineView


class ReadModelError(Exception):
    """Root of read-model errors; `status` and `code` say how the API answers."""

    status = 503
    code = "read_model_error"


class ProjectionBehind(ReadModelError):
    """The projection has not applied the requested position yet: retry shortly."""

    code = "projection_behind"


class ProjectionUnavailable(ReadModelError):
    """The projection store cannot be read right now: retry later."""

    code = "projection_unavailable"


class RebuildInProgress(ReadModelError):
    """A rebuild is already running: wait for it to finish."""

    status = 409
    code = "rebuild_in_progress"


class TimelineReader(Protocol):
    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        """The call's timeline once the read model has applied `min_position` (if given).

        Raises UnknownCall, ProjectionBehind or ProjectionUnavailable.
        """
        ...


class DomainTimelineReader:
    """The timeline replayed from the event store: always current, the reference."""

    def __init__(self, service: RecordingService) -> None:
        self.service = service

    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        return self.service.timeline(call_id)
