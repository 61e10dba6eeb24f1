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
from projections.consumer import DEFAULT_NAME, Progress
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
    """`recaudit.core.readmodel.TimelineReader` over the projection tables of one database."""

    def __init__(self, client: Callable[[], Client], database: str, *,
                 consumer: str = DEFAULT_NAME, progress: Progress | None = None,
                 wait: float = DEFAULT_WAIT, store: StoredLog | None = None) -> None:
        """`store`: the event store, so that a `min_position` beyond its head is refused at
        once rather than waited for."""
        self._client = client
        self.store = store
        self.database = check_identifier(database)
        self.consumer = consumer
        self.progress = progress or Progress()
        self.wait = wait

    def timeline(self, call_id: str, min_position: int | None = None) -> TimelineView:
        try:
            if min_position is not None:
                if self.store is not None:
                    require_stored(self.store, min_position)
                self._wait_for(min_position)
            rows = self._query(queries.TIMELINE, call_id=call_id)
        except (ClickHouseError, ProjectionError) as exc:
            raise ProjectionUnavailable(f"the timeline projection cannot be read: {exc}") from exc
        if not rows:
            raise UnknownCall(call_id)
        return view_of(rows[0]["timeline"])

    def applied_position(self) -> int:
        rows = self._query(queries.APPLIED_POSITION, consumer=self.consumer)
        return int(rows[0]["position"]) if rows else 0

    def _wait_for(self, position: int) -> None:
        deadline = time.monotonic() + self.wait
        while (applied := self.applied_position()) < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProjectionBehind(
                    f"the timeline projection has applied events up to position {applied}; "
                    f"position {position} was not reached within {self.wait:g} s, retry shortly"
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
