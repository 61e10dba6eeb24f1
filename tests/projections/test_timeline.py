"""The ClickHouse timeline equals the domain's, for generated calls in every mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from domain.rules import CallState, Mode
from recaudit.bootstrap import Backend
from recaudit.core.service import DomainTimelineReader
from recaudit.http.server import BackgroundServer
from tests.projections.helpers import (
    caught_up,
    play_random,
    play_scenarios,
    projections_of,
    set_policies,
)

pytestmark = pytest.mark.clickhouse

INTERVALS = """
SELECT call_id, interval_no, state, start_at, end_at, duration_ms, recording_no, reason,
       `by`, mode, org_id, agent_id
FROM {db:Identifier}.intervals FINAL ORDER BY call_id, interval_no
"""
SUMMARIES = """
SELECT call_id, recording_ms, paused_ms, off_ms, pauses, refusals, longest_pause_ms, state
FROM {db:Identifier}.calls FINAL
"""


@pytest.fixture
def calls(ch_backend: Backend) -> list[str]:
    set_policies(ch_backend.service)
    ids = play_scenarios(ch_backend.service, 24, seed=11)
    ids += play_random(ch_backend.service, 40, seed=5)
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    return ids


def test_every_call_timeline_equals_the_domain_one(ch_backend: Backend,
                                                   calls: list[str]) -> None:
    reference = DomainTimelineReader(ch_backend.service)
    projected = projections_of(ch_backend).reader
    modes = set()
    for call_id in calls:
        expected = reference.timeline(call_id)
        got = projected.timeline(call_id)
        assert got.intervals == expected.intervals, call_id
        assert got.totals() == expected.totals(), call_id
        assert got.rejected == expected.rejected, call_id
        assert got == expected
        assert got.to_json() == expected.to_json()
        modes.add(got.mode)
    assert modes == set(Mode)


def test_interval_rows_and_summaries_match_the_domain(ch_backend: Backend, calls: list[str],
                                                      ch_client: Client,
                                                      ch_database: str) -> None:
    params = {"db": ch_database}
    rows = list(ch_client.query(INTERVALS, parameters=params).named_results())
    summaries = {r["call_id"]: r for r in ch_client.query(SUMMARIES, parameters=params)
                 .named_results()}
    by_call: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_call.setdefault(str(row["call_id"]), []).append(row)
    for call_id in calls:
        view = ch_backend.service.timeline(call_id)
        got = by_call.get(call_id, [])
        assert [r["interval_no"] for r in got] == list(range(1, len(view.intervals) + 1))
        for row, interval in zip(got, view.intervals, strict=True):
            assert row["state"] == interval.state.value
            assert row["start_at"].replace(tzinfo=interval.start.tzinfo) == interval.start
            end = row["end_at"]
            assert (end and end.replace(tzinfo=interval.start.tzinfo)) == interval.end
            assert row["duration_ms"] == interval.duration_ms
            assert row["recording_no"] == interval.recording_no
            assert row["reason"] == interval.reason
            assert interval.by is not None
            assert row["by"] == interval.by
            assert (row["mode"], row["org_id"]) == (view.mode.value, view.org_id)
            # The agent who had the call when the interval opened (a transfer at that very
            # millisecond may come before or after the interval's event: either holder).
            holders = {a.agent_id for a in view.agents
                       if a.start <= interval.start and (a.end is None or interval.start <= a.end)}
            assert row["agent_id"] in holders, (call_id, row, view.agents)
            if not any(a.start == interval.start for a in view.agents[1:]):
                assert len(holders) == 1
        summary = summaries[call_id]
        totals = view.totals()
        pauses = [i for i in view.intervals if i.state is CallState.PAUSED]
        assert (summary["recording_ms"], summary["paused_ms"], summary["off_ms"]) == (
            totals["recording_ms"], totals["paused_ms"], totals["off_ms"])
        assert summary["pauses"] == len(pauses)
        assert summary["refusals"] == len(view.rejected)
        assert summary["longest_pause_ms"] == max((p.duration_ms or 0 for p in pauses),
                                                  default=0)
        assert summary["state"] == ch_backend.service.call(call_id).status.state.value


def test_the_http_timeline_is_the_contract_json(ch_backend: Backend, calls: list[str]) -> None:
    with BackgroundServer(ch_backend.app) as server, httpx.Client(base_url=server.url) as http:
        for call_id in calls[::7]:
            position = http.get(f"/calls/{call_id}").json()["position"]
            response = http.get(f"/calls/{call_id}/timeline", params={"min_position": position})
            assert response.status_code == 200
            assert response.json() == ch_backend.service.timeline(call_id).to_json()
