"""The base of the domain's aggregates: what the writer may ask of any of them."""

from __future__ import annotations

from eventsourcing.domain import Aggregate


class StreamAggregate(Aggregate):
    """An aggregate whose stream may finish: once finished it takes no more state changes."""

    @property
    def is_finished(self) -> bool:
        """Whether the stream will take no more state changes; most streams never finish."""
        return False
