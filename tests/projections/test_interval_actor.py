"""Who opened each interval: the migration that adds it to tables written without it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from domain.published import PublishedEvent
from projections import schema
from projections.callstate import CALL_COLUMNS, INTERVAL_COLUMNS, POSITION, CallProjection
from projections.consumer import ProjectionConsumer
from projections.reader import ClickHouseTimelineReader
from projections.tables import Tables

pytestmark = pytest.mark.clickhouse

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
COMMON = {"call_id": "c", "org_id": "o", "command_id": None}
STARTED = PublishedEvent("CallStarted", 3, "c", 1, AT, {
    **COMMON, "agent_id": "ann", "direction": "inbound", "mode": "on_demand",
    "policy_version": 2, "pause_behavior": "skip", "at": AT, "by": "ann"})
RECORDING = PublishedEvent("RecordingStarted", 4, "c", 2, AT, {
    **COMMON, "recording_no": 1, "automatic": False, "at": AT + timedelta(seconds=5),
    "by": "sup"})
INTERVALS = "SELECT interval_no, state, `by` FROM {db:Identifier}.intervals FINAL ORDER BY 1"


def write_as_before_the_actor(client: Client, database: str, call: CallProjection) -> None:
    """The rows the projection wrote before intervals named who opened them."""
    old_columns = [c for c in INTERVAL_COLUMNS if c != "by"]
    row = dict(zip(INTERVAL_COLUMNS, call.interval_row(0), strict=True))
    client.insert("intervals", [[row[c] for c in old_columns]], column_names=old_columns,
                  database=database)
    summary: dict[str, Any] = dict(zip(CALL_COLUMNS, call.summary_row(), strict=True))
    document = json.loads(summary["timeline"])
    document["intervals"] = [interval[:POSITION + 1] for interval in document["intervals"]]
    summary["timeline"] = json.dumps(document)
    client.insert("calls", [list(summary.values())], column_names=list(summary),
                  database=database)


def test_existing_intervals_get_the_column_and_new_ones_are_filled(
        ch_client: Client, ch_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = [m for m in schema.MIGRATIONS if m.name == "who opened each interval"]
    assert len(actor) == 1
    before = tuple(m for m in schema.MIGRATIONS if m not in actor)
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", before)
        schema.migrate(ch_client, ch_database)
    write_as_before_the_actor(ch_client, ch_database, CallProjection.started(STARTED))

    assert schema.migrate(ch_client, ch_database) == [actor[0].version]
    params = {"db": ch_database}
    assert ch_client.query(INTERVALS, parameters=params).result_rows == [(1, "off", None)]
    reader = ClickHouseTimelineReader(lambda: ch_client, ch_database)
    assert [i["by"] for i in reader.timeline("c").to_json()["intervals"]] == [None]

    ProjectionConsumer(Tables(ch_client, ch_database)).apply([RECORDING])
    assert ch_client.query(INTERVALS, parameters=params).result_rows == [
        (1, "off", None), (2, "recording", "sup")]
    assert [(i.state.value, i.by) for i in reader.timeline("c").intervals] == [
        ("off", None), ("recording", "sup")]


def test_fresh_tables_name_who_opened_each_interval(ch_client: Client,
                                                    ch_database: str) -> None:
    schema.migrate(ch_client, ch_database)
    ProjectionConsumer(Tables(ch_client, ch_database)).apply([STARTED, RECORDING])
    assert ch_client.query(INTERVALS, parameters={"db": ch_database}).result_rows == [
        (1, "off", "ann"), (2, "recording", "sup")]
