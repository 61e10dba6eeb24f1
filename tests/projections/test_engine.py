"""DSNs, settings, migrations, the one-engine-per-process rule, and times in a non-UTC zone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from projections import engine
from projections.errors import EngineBusy, InvalidDsn
from projections.schema import MIGRATIONS, applied, migrate
from recaudit.settings import Settings, SettingsError

pytestmark = pytest.mark.clickhouse


def test_dsns_are_parsed_or_refused(tmp_path: Path) -> None:
    assert engine.parse(f"chdb://{tmp_path}").embedded_path == str(tmp_path.resolve())
    assert engine.parse("chdb://memory").embedded_path == engine.MEMORY
    server = engine.parse("http://user:secret@ch.example:8123")
    assert not server.embedded and "secret" not in server.describe()
    for bad in ("chdb://relative/path", "ftp://x", "http://"):
        with pytest.raises(InvalidDsn):
            engine.parse(bad)


def test_settings_name_the_clickhouse_dsn_and_database(tmp_path: Path) -> None:
    default = Settings.from_env({}, data_dir=tmp_path)
    assert default.clickhouse_url() == f"chdb://{(tmp_path / 'clickhouse').resolve()}"
    assert default.clickhouse_database == "recaudit"
    server = Settings.from_env({"RECAUDIT_CLICKHOUSE_DSN": "http://ch:8123",
                                "RECAUDIT_CLICKHOUSE_DATABASE": "audit_2"})
    assert (server.clickhouse_url(), server.clickhouse_database) == ("http://ch:8123", "audit_2")
    with pytest.raises(SettingsError, match="RECAUDIT_CLICKHOUSE_DSN"):
        Settings.from_env({"RECAUDIT_CLICKHOUSE_DSN": "mysql://x"})
    with pytest.raises(SettingsError, match="RECAUDIT_CLICKHOUSE_DATABASE"):
        Settings.from_env({"RECAUDIT_CLICKHOUSE_DATABASE": "drop table; --"})


def test_migrations_are_recorded_and_applied_once(ch_client: Client, ch_database: str) -> None:
    assert migrate(ch_client, ch_database) == [m.version for m in MIGRATIONS]
    assert migrate(ch_client, ch_database) == []
    assert applied(ch_client, ch_database) == {m.version for m in MIGRATIONS}
    tables = ch_client.query("SELECT name FROM system.tables WHERE database = {db:String}",
                             parameters={"db": ch_database}).result_rows
    assert {t for (t,) in tables} == {"schema_migrations", "events", "intervals", "calls",
                                      "positions"}


def test_a_second_engine_path_in_this_process_is_refused_clearly(ch_client: Client,
                                                                  tmp_path: Path) -> None:
    with pytest.raises(EngineBusy, match="one engine path per process"):
        engine.connect(f"chdb://{tmp_path}")
    assert ch_client.command("SELECT 1") == 1  # the open engine is unharmed


CHECK_TIMES = textwrap.dedent("""
    import time
    from datetime import UTC, datetime, timedelta, timezone
    from domain.published import PublishedEvent
    from projections import engine, queries
    from projections.consumer import ProjectionConsumer
    from projections.reader import ClickHouseTimelineReader
    from projections.schema import migrate
    from projections.tables import Tables

    assert time.tzname[0] != "UTC", time.tzname
    client = engine.connect("chdb://memory")
    migrate(client, "tz")
    at = datetime(2026, 3, 29, 0, 59, 59, 999000, tzinfo=UTC)  # a DST change in Europe
    common = {"call_id": "c", "org_id": "o", "by": "a", "command_id": None}
    events = [
        PublishedEvent("CallStarted", 1, "c", 1, at, {**common, "agent_id": "a",
            "direction": "inbound", "mode": "on_demand", "policy_version": 2,
            "pause_behavior": "skip", "at": at}),
        PublishedEvent("RecordingStarted", 2, "c", 2, at, {**common, "recording_no": 1,
            "automatic": False, "at": at + timedelta(milliseconds=1)}),
    ]
    ProjectionConsumer(Tables(client, "tz")).apply(events)
    view = ClickHouseTimelineReader(lambda: client, "tz").timeline("c")
    assert view.started_at == at and view.started_at.tzinfo is UTC, view.started_at
    assert view.intervals[1].start == at + timedelta(milliseconds=1)
    assert all(i.start.tzinfo is UTC for i in view.intervals)
    paris = at.astimezone(timezone(timedelta(hours=1)))
    rows = queries.run(client, "tz", queries.STATE_AT, call_id="c", at=paris)
    assert rows and rows[0]["state"] == "off", rows
    start = rows[0]["start_at"]
    assert start == at and start.tzinfo is UTC, start  # naive from chdb, made aware
    raw = client.query("SELECT start_at FROM tz.intervals FINAL WHERE interval_no = 1")
    assert raw.result_rows[0][0] == at.replace(tzinfo=None)  # what chdb gives: naive UTC
    print("ok")
""")


def test_times_stay_utc_when_the_process_runs_in_another_zone() -> None:
    env = {**os.environ, "TZ": "America/New_York"}
    result = subprocess.run([sys.executable, "-c", CHECK_TIMES], env=env, capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_migration_8_upgrades_a_calls_table_holding_rows(ch_client: Client,
                                                         ch_database: str) -> None:
    """A database made before the list of calls gets its column and indexes, and its rows
    read as not on hold."""
    from unittest import mock

    from projections import schema
    from projections.reader import ClickHouseTimelineReader
    from recaudit.core.readmodel import CallQuery

    with mock.patch.object(schema, "MIGRATIONS", schema.MIGRATIONS[:7]):
        assert migrate(ch_client, ch_database) == [1, 2, 3, 4, 5, 6, 7]
    ch_client.command(
        "INSERT INTO {db:Identifier}.calls (call_id, org_id, agent_id, direction, mode, "
        "policy_version, pause_behavior, started_at, state, recording_no, recording_ms, "
        "paused_ms, off_ms, pauses, refusals, longest_pause_ms, timeline, version, position) "
        "VALUES ('old', 'acme', 'bob', 'inbound', 'always_on', 2, 'skip', "
        "'2026-03-01 09:00:00.000', 'recording', 1, 0, 0, 0, 0, 0, 0, '{}', 2, 3)",
        parameters={"db": ch_database})
    with mock.patch.object(schema, "MIGRATIONS", schema.MIGRATIONS[:8]):
        assert migrate(ch_client, ch_database) == [8]
    indexes = ch_client.query(
        "SELECT name FROM system.data_skipping_indices WHERE database = {db:String} "
        "AND table = 'calls'", parameters={"db": ch_database}).result_rows
    assert {name for (name,) in indexes} == {"calls_started_at", "calls_org_agent"}
    # Migration 9 (transfers): the row made before it had one agent, and is listed by it.
    with mock.patch.object(schema, "MIGRATIONS", schema.MIGRATIONS[:9]):
        assert migrate(ch_client, ch_database) == [9]
    # The list reads the legal holds from `events` (their columns come with migration 11).
    with mock.patch.object(schema, "MIGRATIONS", schema.MIGRATIONS[:11]):
        assert migrate(ch_client, ch_database) == [10, 11]
    reader9 = ClickHouseTimelineReader(lambda: ch_client, ch_database)
    assert [c.call_id for c in reader9.calls(CallQuery(agent_id="bob")).calls] == ["old"]
    assert reader9.calls(CallQuery(agent_id="amy")).calls == ()
    reader = ClickHouseTimelineReader(lambda: ch_client, ch_database)
    [old] = reader.calls(CallQuery(org_ids=("acme",), legal_hold=False)).calls
    assert (old.call_id, old.legal_hold, old.started_at.isoformat()) == (
        "old", False, "2026-03-01T09:00:00+00:00")
    assert reader.calls(CallQuery(legal_hold=True)).calls == ()


def test_migration_10_adds_the_pause_cap_to_an_events_table_holding_rows(
        ch_client: Client, ch_database: str) -> None:
    """Events projected before pause caps read a null cap."""
    from unittest import mock

    from projections import schema

    with mock.patch.object(schema, "MIGRATIONS", schema.MIGRATIONS[:9]):
        assert migrate(ch_client, ch_database)[-1] == 9
    ch_client.command(
        "INSERT INTO {db:Identifier}.events (position, type, stream, key, version, "
        "recorded_at, at, org_id) VALUES (2, 'PolicySet', 'policy', 'acme', 2, "
        "'2026-03-01 09:00:00.000', '2026-03-01 09:00:00.000', 'acme')",
        parameters={"db": ch_database})
    with mock.patch.object(schema, "MIGRATIONS", schema.MIGRATIONS[:10]):
        assert migrate(ch_client, ch_database) == [10]
    rows = ch_client.query("SELECT key, max_pause_ms FROM {db:Identifier}.events",
                           parameters={"db": ch_database}).result_rows
    assert rows == [("acme", None)]
