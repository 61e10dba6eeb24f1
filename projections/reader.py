"""The timeline read from ClickHouse: one point lookup of the call's summary row."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from domain.errors import UnknownCall
from domain.rules import CallState, Mode
from domain.timeline import Interval, Rejection
from projections import queries
from projections.callstate import stored_interval
from projections.consumer import Progress
from projections.errors import ProjectionError
from projections.schema import check_identifier
from projections.utc import from_millis, optional_from_millis
from recaudit.core.readmodel import (
    ProjectionBehind,
    ProjectionUnavailable,
    StoredLog,
    require_stored,
)
from recaudit.core.views import TimelineView

DEFAULT_WAIT = 5.0
RECHECK_EVERY = 0.05


class ClickHouseTimelineReader:
    """`recaudit.core.readmodel.TimelineReader` over the projection tables of one database.

    `?min_position=N` waits for the call's own events: until the call's row holds the
    version of the call's last event at or before N (the event store says which). The
    timeline is made of the call's events only, so that is exactly "every event up to N is
    applied" for this read, whatever the feed: with Kafka, a call's events share one
    partition and arrive in order, while other partitions, ahead or behind, cannot change
    this call's timeline.
    """

    def __init__(self, client: Callable[[], Client], database: str, *,
                 progress: Progress | None = None, wait: float = DEFAULT_WAIT,
                 store: StoredLog | None = None) -> None:
        """`store`: the event store, which `min_position` is checked against; a reader
        without one serves plain reads only."""
        self._client = client
        self.store = store
        self.database = check_identifier(database)
        self.progress = progress or Progress()
        self.wait = wait

    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        try:
            rows = (self._query(queries.TIMELINE, call_id=call_id) if min_position is None
                    else self._read_after(call_id, min_position))
        except (ClickHouseError, ProjectionError) as exc:
            raise ProjectionUnavailable(f"the timeline projection cannot be read: {exc}") from exc
        if not rows:
            raise UnknownCall(call_id)
        return view_of(rows[0]["timeline"])

    def _read_after(self, call_id: str, position: int) -> list[dict[str, Any]]:
        """The call's row once it holds every event of the call up to `position`."""
        if self.store is None:
            raise ProjectionUnavailable("this timeline reader has no event store to check "
                                        "min_position against")
        require_stored(self.store, position)
        needed = self.store.call_version_at(call_id, position) or 0
        deadline = time.monotonic() + self.wait
        while True:
            rows = self._query(queries.TIMELINE, call_id=call_id)
            applied = int(rows[0]["version"]) if rows else 0
            if applied >= needed:
                return rows
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProjectionBehind(
                    f"the timeline projection holds call {call_id!r} up to version {applied}; "
                    f"position {position} needs its version {needed}, not reached within "
                    f"{self.wait:g} s, retry shortly"
                )
            self.progress.wait(min(remaining, RECHECK_EVERY))

    def _query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        result = self._client().query(sql, parameters={"db": self.database, **params})
        return list(result.named_results())


def view_of(document: str) -> TimelineView:
    """The contract's timeline from a call's `timeline` document (epoch milliseconds)."""
    call = json.loads(document)
    intervals = tuple(
        Interval(CallState(state), from_millis(start), optional_from_millis(end),
                 recording_no, reason, by)
        for state, start, end, recording_no, reason, _position, by
        in map(stored_interval, call["intervals"])
    )
    rejected = tuple(
        Rejection(command, from_millis(at), code, by)
        for command, at, code, by in call["rejected"]
    )
    return TimelineView(
        call_id=call["call_id"], org_id=call["org_id"], agent_id=call["agent_id"],
        mode=Mode(call["mode"]), started_at=from_millis(call["started_at"]),
        ended_at=optional_from_millis(call["ended_at"]), intervals=intervals,
        rejected=rejected,
    )
