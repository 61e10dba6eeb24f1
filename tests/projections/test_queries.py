"""The analyst queries, run on tables built from generated calls, against the domain's answer."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from domain.rules import CallState, Command, Mode
from projections import queries
from recaudit.bootstrap import Backend
from recaudit.core.views import TimelineView
from tests.core.helpers import published
from tests.projections.helpers import caught_up, play_random, play_scenarios, set_policies

pytestmark = pytest.mark.clickhouse

README = Path(__file__).resolve().parents[2] / "projections" / "README.md"


@pytest.fixture
def views(ch_backend: Backend) -> list[TimelineView]:
    set_policies(ch_backend.service)
    # Some calls around midnight UTC, so that intervals are split across days.
    near_midnight = datetime.combine(date.today() - timedelta(days=2), time(23, 20), UTC)
    ids = play_random(ch_backend.service, 16, seed=61, start=near_midnight)
    ids += play_scenarios(ch_backend.service, 20, seed=62)
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    return [ch_backend.service.timeline(call_id) for call_id in ids]


def run(client: Client, database: str, query: queries.AnalystQuery,
        **params: object) -> list[dict[str, Any]]:
    return queries.run(client, database, query, **params)


def test_seconds_per_agent_per_day(views: list[TimelineView], ch_client: Client,
                                   ch_database: str) -> None:
    expected: dict[tuple[str, str, date], Counter[str]] = defaultdict(Counter)
    for view in views:
        for interval in view.intervals:
            at, end = interval.start, interval.end
            while end is not None and at < end:
                midnight = datetime.combine(at.date() + timedelta(days=1), time(), UTC)
                piece = min(end, midnight)
                expected[(view.org_id, view.agent_id, at.date())][interval.state.value] += (
                    (piece - at) // timedelta(milliseconds=1))
                at = piece
    expected = {k: v for k, v in expected.items() if sum(v.values()) > 0}
    rows = run(ch_client, ch_database, queries.SECONDS_PER_AGENT_PER_DAY,
               from_day=date.today() - timedelta(days=10), to_day=date.today())
    got = {
        (r["org_id"], r["agent_id"], r["day"]): Counter(
            {"recording": round(r["recorded_s"] * 1000), "paused": round(r["paused_s"] * 1000),
             "off": round(r["off_s"] * 1000)})
        for r in rows
    }
    assert {k: +v for k, v in got.items()} == {k: +v for k, v in expected.items()}
    assert len({day for _, _, day in got}) >= 2  # the midnight calls were split


@pytest.mark.parametrize("seconds", [0, 10, 60, 600])
def test_calls_with_a_pause_longer_than(views: list[TimelineView], ch_client: Client,
                                        ch_database: str, seconds: int) -> None:
    expected = {
        v.call_id for v in views
        if any(i.state is CallState.PAUSED and (i.duration_ms or 0) > seconds * 1000
               for i in v.intervals)
    }
    rows = run(ch_client, ch_database, queries.LONG_PAUSES, seconds=seconds)
    assert {r["call_id"] for r in rows} == expected
    if seconds == 10:
        assert expected  # the data has pauses to find


def test_always_on_calls_never_stop_recording(views: list[TimelineView], ch_client: Client,
                                              ch_database: str) -> None:
    assert any(v.mode.value == "always_on" for v in views)
    assert run(ch_client, ch_database, queries.ALWAYS_ON_GAPS) == []
    # The query does find such an interval when there is one.
    ch_client.command(
        "INSERT INTO {db:Identifier}.intervals (call_id, interval_no, state, start_at, mode, "
        "org_id, agent_id, position) VALUES ('forged', 1, 'paused', now64(3), 'always_on', "
        "'o', 'a', 1)", parameters={"db": ch_database})
    assert [r["call_id"] for r in run(ch_client, ch_database, queries.ALWAYS_ON_GAPS)] == [
        "forged"]


def test_refusals_by_code_and_mode(views: list[TimelineView], ch_client: Client,
                                   ch_database: str) -> None:
    expected = Counter((r.code, v.mode.value) for v in views for r in v.rejected)
    rows = run(ch_client, ch_database, queries.REFUSALS_BY_CODE_AND_MODE)
    assert {(r["code"], r["mode"]): r["refusals"] for r in rows} == dict(expected)
    assert len(expected) >= 3


def domain_state_at(view: TimelineView, at: datetime) -> str | None:
    """The state of the last interval holding `at` (an interval holds its start, not its end)."""
    states = [i.state.value for i in view.intervals
              if i.start <= at and (i.end is None or at < i.end)]
    return states[-1] if states else None


def test_state_of_a_call_at_a_time(views: list[TimelineView], ch_client: Client,
                                   ch_database: str) -> None:
    checked = 0
    for view in views[::3]:
        moments = [view.started_at - timedelta(seconds=1)]
        for interval in view.intervals:
            moments.append(interval.start)
            if interval.end is not None:
                moments += [interval.start + (interval.end - interval.start) / 2, interval.end]
        for at in moments:
            rows = run(ch_client, ch_database, queries.STATE_AT, call_id=view.call_id,
                       at=at.astimezone(UTC))
            assert (rows[0]["state"] if rows else None) == domain_state_at(view, at), (
                view.call_id, at)
            checked += 1
    assert checked > 20


def test_the_readme_shows_exactly_this_sql() -> None:
    text = README.read_text()
    for query in queries.ANALYST_QUERIES:
        match = re.search(rf"### {re.escape(query.title)}\n.*?```sql\n(.*?)```", text, re.S)
        assert match, f"projections/README.md has no section '### {query.title}'"
        assert match.group(1).strip() == query.sql.strip(), query.name


def test_auto_resumed_pauses_per_agent_per_day(ch_backend: Backend, ch_client: Client,
                                               ch_database: str) -> None:
    service = ch_backend.service
    service.set_policy("capped", mode=Mode.PAUSE_RESUME, changed_by="admin", max_pause_ms=1_000)
    base = datetime.combine(date.today() - timedelta(days=2), time(23, 59, 58), UTC)
    # (agent, pause's start in seconds after base, seconds until the next command): a pause
    # longer than its cap resumes by itself (once at the deadline, one second later, which
    # falls on the next day for the pauses started just before midnight); a shorter one not.
    script = [("ann", 0, 5), ("ann", 1, 5), ("ann", 4, 0.5), ("bob", 0, 3), ("bob", 86_400, 9)]
    for n, (agent, start, wait) in enumerate(script):
        call_id = f"cap-{n}"
        paused = base + timedelta(seconds=start)
        service.start_call(call_id=call_id, org_id="capped", agent_id=agent,
                           direction="inbound", at=paused - timedelta(seconds=1))
        service.command(call_id, Command.PAUSE, by=agent, at=paused)
        service.command(call_id, Command.END, by=agent, at=paused + timedelta(seconds=wait))
    expected: Counter[tuple[str, str, date]] = Counter()
    for event in published(ch_backend.store):
        if event.type == "RecordingResumed" and event.fields["automatic"]:
            call = service.call(event.key).status
            expected[("capped", call.agent_id, event.at.date())] += 1
    assert sum(expected.values()) == 4 and len(expected) == 4
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    rows = run(ch_client, ch_database, queries.AUTO_RESUMED_PAUSES,
               from_day=date.today() - timedelta(days=10), to_day=date.today())
    assert {(r["org_id"], r["agent_id"], r["day"]): r["auto_resumed"] for r in rows} == expected
    caps = ch_client.query(
        "SELECT type, max_pause_ms FROM {db:Identifier}.events FINAL "
        "WHERE type IN ('PolicySet', 'CallStarted') ORDER BY position",
        parameters={"db": ch_database}).result_rows
    assert set(caps) == {("PolicySet", 1_000), ("CallStarted", 1_000)}
