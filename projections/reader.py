"""Reads from ClickHouse: a call's timeline (one point lookup of its summary row), and
pages of call summaries (a keyset over the `calls` table, newest first)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from domain.errors import UnknownCall
from domain.rules import CallState, Mode
from domain.timeline import Holding, Interval, Rejection
from projections import queries
from projections.callstate import stored_agents, stored_interval
from projections.consumer import DEFAULT_NAME, Progress
from projections.errors import ProjectionError
from projections.schema import check_identifier
from projections.utc import aware, from_millis, optional_from_millis, to_millis
from recaudit.core.readmodel import (
    CallKey,
    CallPage,
    CallQuery,
    DashboardQuery,
    ProjectionBehind,
    ProjectionUnavailable,
    StoredLog,
    require_stored,
)
from recaudit.core.views import CallSummary, Dashboard, TimelineView

DEFAULT_WAIT = 5.0
RECHECK_EVERY = 0.05


class ClickHouseTimelineReader:
    """`recaudit.core.readmodel.TimelineReader` and `Listings` over the projection tables
    of one database.

    A timeline's `?min_position=N` waits for the call's own events: until the call's row
    holds the version of the call's last event at or before N (the event store says which).
    The timeline is made of the call's events only, so that is exactly "every event up to N
    is applied" for this read, whatever the feed: with Kafka, a call's events share one
    partition and arrive in order, while other partitions, ahead or behind, cannot change
    this call's timeline. A list's `?min_position=N` waits until the consumer's applied
    position reaches N: exact with the local feed; with Kafka it is the highest position
    applied on any partition, so a list may miss an event of a partition that lags.
    """

    def __init__(self, client: Callable[[], Client], database: str, *,
                 progress: Progress | None = None, wait: float = DEFAULT_WAIT,
                 store: StoredLog | None = None, consumer: str = DEFAULT_NAME) -> None:
        """`store`: the event store, which `min_position` is checked against; a reader
        without one serves plain reads only."""
        self._client = client
        self.store = store
        self.consumer = consumer
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

    def calls(self, query: CallQuery, min_position: int | None = None) -> CallPage:
        """The page's keys first, then those calls' summaries (`queries.call_page_keys`).

        The keys are read newest months first: the first window is the newest month that
        holds calls (and anything after it), then the next 2 months, 4, and so on, the last
        window open to the past; each window's rows all start before the previous one's, so
        the reading stops as soon as the page is full. A page of recent calls reads a month
        of the table instead of all of it. A call id prefix is read in one query: the
        primary key finds it.
        """
        params = page_parameters(query)
        keys: list[dict[str, Any]] = []
        wait = min_position  # the first read waits for it; the later ones follow that one
        for window in self._windows(params):
            asked = params | window
            keys += self._read(wait, queries.call_page_keys(asked), **asked)
            wait = None
            if len(keys) >= params["rows"]:
                break
        keys = keys[:params["rows"]]
        page = [summary_of(row)
                for row in self._summaries([str(k["call_id"]) for k in keys[:query.limit]])]
        last = keys[query.limit - 1] if len(keys) > query.limit else None
        return CallPage(tuple(page),
                        CallKey(int(last["started_ms"]), last["call_id"]) if last else None)

    def _windows(self, params: dict[str, Any]) -> list[dict[str, int]]:
        """The windows of start times to read a page's keys in, newest first (see `calls`)."""
        if "prefix" in params:
            return [{}]
        bounds = [params[k] for k in ("after_ms", "to_ms") if k in params]
        upper, lower = min(bounds, default=None), params.get("from_ms")
        starts = [start for start in (month_start(str(row["partition"]))
                                      for row in self._read(None, queries.CALL_MONTHS))
                  if (upper is None or start < upper)
                  and (lower is None or next_month(start) > lower)]
        windows: list[dict[str, int]] = []
        newer: int | None = None
        size, taken = 1, 0
        while taken < len(starts):
            taken = min(len(starts), taken + size)
            window = {} if newer is None else {"window_to": newer}
            if taken < len(starts):
                newer = window["window_from"] = starts[taken - 1]
            windows.append(window)
            size *= 2
        return windows or [{}]

    def analyst(self, query: queries.AnalystQuery,
                params: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
        """The columns and rows of an analyst query, with its parameters checked already."""
        try:
            return queries.run_with_columns(self._client(), self.database, query, **params)
        except (ClickHouseError, ProjectionError) as exc:
            raise ProjectionUnavailable(f"the projection cannot be read: {exc}") from exc

    def retention_candidates(self, org_id: str, ended_before: datetime) -> list[str]:
        rows = self._read(None, queries.RETENTION_CANDIDATES, org_id=org_id,
                          before=to_millis(ended_before))
        return [str(row["call_id"]) for row in rows]
    def _summaries(self, call_ids: list[str]) -> list[dict[str, Any]]:
        """The summary rows of these calls, in the order given."""
        if not call_ids:
            return []
        found = {str(row["call_id"]): row
                 for row in self._read(None, queries.CALL_SUMMARIES_OF, ids=call_ids)}
        return [found[c] for c in call_ids if c in found]

    def dashboard(self, query: DashboardQuery) -> Dashboard:
        params = dashboard_parameters(query)
        totals = self._read(None, queries.DASHBOARD_TOTALS, **params)[0]
        events = self._read(None, queries.DASHBOARD_EVENTS, **params)
        return dashboard_of(totals, events)

    def policy_orgs(self) -> list[str]:
        return [str(row["org_id"]) for row in self._read(None, queries.POLICY_ORGS)]

    def _read(self, min_position: int | None, sql: str, **params: Any) -> list[dict[str, Any]]:
        """The rows of `sql` once `min_position` (if given) is applied."""
        try:
            if min_position is not None:
                self._wait_for_position(min_position)
            return self._query(sql, **params)
        except (ClickHouseError, ProjectionError) as exc:
            raise ProjectionUnavailable(f"the projection cannot be read: {exc}") from exc

    def applied_position(self) -> int:
        rows = self._query(queries.APPLIED_POSITION, consumer=self.consumer)
        return int(rows[0]["position"]) if rows else 0

    def _wait_for_position(self, position: int) -> None:
        if self.store is not None:
            require_stored(self.store, position)
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
        for state, start, end, recording_no, reason, _position, by, _agent
        in (stored_interval(i, call["agent_id"]) for i in call["intervals"])
    )
    agents = tuple(
        Holding(agent_id, from_millis(start), optional_from_millis(end))
        for agent_id, start, end in stored_agents(call)
    )
    rejected = tuple(
        Rejection(command, from_millis(at), code, by)
        for command, at, code, by in call["rejected"]
    )
    return TimelineView(
        call_id=call["call_id"], org_id=call["org_id"], agent_id=call["agent_id"],
        mode=Mode(call["mode"]), started_at=from_millis(call["started_at"]),
        ended_at=optional_from_millis(call["ended_at"]), intervals=intervals,
        rejected=rejected, agents=agents,
    )


def month_start(partition: str) -> int:
    """Epoch milliseconds of the first instant of a `calls` partition (`YYYYMM`), UTC."""
    return to_millis(datetime(int(partition[:4]), int(partition[4:6]), 1, tzinfo=UTC))


def next_month(start_ms: int) -> int:
    """Epoch milliseconds of the first instant of the month after the one starting there."""
    start = from_millis(start_ms)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return to_millis(datetime(year, month, 1, tzinfo=UTC))


def page_parameters(query: CallQuery) -> dict[str, Any]:
    """The bound parameters of the filters `query` asks for, and the rows to read."""
    after = query.after
    given: dict[str, Any] = {
        "org_ids": list(query.org_ids) if query.org_ids else None,
        "agent_id": query.agent_id,
        "mode": query.mode.value if query.mode else None,
        "state": query.state.value if query.state else None,
        "from_ms": None if query.started_from is None else to_millis(query.started_from),
        "to_ms": None if query.started_to is None else to_millis(query.started_to),
        "prefix": query.call_id_prefix or None,
        "refused": query.refused,
        "min_pause_ms": query.min_pause_ms or None,
        "legal_hold": query.legal_hold,
        "after_ms": after.started_ms if after else None,
    }
    params = {k: v for k, v in given.items() if v is not None}
    if after:
        params["after_id"] = after.call_id
    return params | {"rows": query.limit + 1}


def call_parameters(query: CallQuery) -> dict[str, Any]:
    """The bound parameters of `queries.CALL_SUMMARIES` for `query` (None: no filter)."""
    def millis(at: Any) -> int | None:
        return None if at is None else to_millis(at)

    after = query.after
    return {
        "org_ids": list(query.org_ids or ()),
        "agent_id": query.agent_id,
        "mode": query.mode.value if query.mode else None,
        "state": query.state.value if query.state else None,
        "from_ms": millis(query.started_from) or 0,
        "to_ms": millis(query.started_to), "to_at": millis(query.started_to) or 0,
        "prefix": query.call_id_prefix or "",
        "refused": query.refused,
        "min_pause_ms": query.min_pause_ms or 0,
        "legal_hold": query.legal_hold,
        "after_ms": after.started_ms if after else None,
        "after_at": after.started_ms if after else 0,
        "after_id": after.call_id if after else "",
        "rows": query.limit + 1,
    }


TOP_AGENTS = 5


def dashboard_parameters(query: DashboardQuery) -> dict[str, Any]:
    to_ms = None if query.started_to is None else to_millis(query.started_to)
    return {"org_ids": list(query.org_ids or ()), "agent_id": query.agent_id,
            "from_ms": 0 if query.started_from is None else to_millis(query.started_from),
            "to_ms": to_ms, "to_at": to_ms or 0}


def dashboard_of(totals: dict[str, Any], events: list[dict[str, Any]]) -> Dashboard:
    codes: dict[str, int] = {}
    agents: dict[str, int] = {}
    resumes = 0
    for row in events:
        n = int(row["n"])
        if row["type"] == "RecordingResumed":
            resumes += n
            continue
        codes[str(row["code"])] = codes.get(str(row["code"]), 0) + n
        agents[str(row["agent_id"])] = agents.get(str(row["agent_id"]), 0) + n
    def most(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    return Dashboard(
        calls=int(totals["calls"]), recording_ms=int(totals["recorded_ms"]),
        total_ms=int(totals["all_ms"]), pauses=int(totals["pause_count"]),
        longest_pause_ms=int(totals["longest_ms"]),
        refusals_by_code=tuple(most(codes)), automatic_resumes=resumes,
        agents_by_refusals=tuple(most(agents)[:TOP_AGENTS]),
        always_on_gaps=int(totals["gaps"]))


def summary_of(row: dict[str, Any]) -> CallSummary:
    ended = row["ended_at"]
    return CallSummary(
        call_id=row["call_id"], org_id=row["org_id"], agent_id=row["agent_id"],
        mode=Mode(row["mode"]), state=CallState(row["state"]),
        started_at=aware(row["started_at"]), ended_at=aware(ended) if ended else None,
        recording_ms=int(row["recording_ms"]), paused_ms=int(row["paused_ms"]),
        off_ms=int(row["off_ms"]), refusals=int(row["refusals"]),
        longest_pause_ms=int(row["longest_pause_ms"]), legal_hold=bool(row["on_hold"]),
    )
