"""The events table is partitioned by the store's own time, never by a time a client
claimed: refused commands dated decades away make no partitions of their own. Migration 7
moves an existing events table to that key, keeping every row, and may run again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from domain.errors import PastTimestamp
from domain.rules import Command, Mode
from projections import schema
from projections.rows import EVENT_COLUMNS
from projections.schema import MIGRATIONS, REPARTITION_EVENTS, migrate
from recaudit.bootstrap import Backend
from tests.projections.helpers import caught_up, raw_count

CLAIMED = [datetime(2030, 1, 1, tzinfo=UTC), datetime(2500, 6, 1, tzinfo=UTC),
           datetime(9999, 12, 1, tzinfo=UTC)]


def partitions(client: Client, database: str, table: str = "events") -> set[str]:
    sql = ("SELECT DISTINCT partition FROM system.parts WHERE database = {db:String} "
           "AND table = {t:String} AND active")
    return {str(p) for (p,) in client.query(sql, parameters={"db": database, "t": table})
            .result_rows}


def month(at: datetime) -> str:
    return at.strftime("%Y%m")


def test_refused_commands_dated_far_away_make_no_partitions(
    ch_backend: Backend, ch_client: Client, ch_database: str
) -> None:
    service = ch_backend.service
    service.set_policy("org", mode=Mode.ON_DEMAND, changed_by="admin")
    service.start_call(call_id="c1", org_id="org", agent_id="a", direction="inbound")
    for at in CLAIMED:
        assert service.command("c1", Command.START, by="a", at=at).refusal is not None
    with pytest.raises(PastTimestamp):
        service.start_call(call_id="c2", org_id="org", agent_id="a", direction="inbound",
                           at=datetime(1970, 1, 1, tzinfo=UTC))
    ch_backend.pipeline.start()
    caught_up(ch_backend)
    recorded = ch_client.query(
        "SELECT DISTINCT toYYYYMM(recorded_at) FROM {db:Identifier}.events",
        parameters={"db": ch_database}).result_rows
    assert partitions(ch_client, ch_database) == {str(m) for (m,) in recorded}
    assert not partitions(ch_client, ch_database) & {month(at) for at in CLAIMED}
    rows = ch_client.query(
        "SELECT at, received_at, recorded_at FROM {db:Identifier}.events FINAL "
        "WHERE type = 'CommandRejected' ORDER BY version", parameters={"db": ch_database},
    ).result_rows
    assert [r[0].year for r in rows] == [at.year for at in CLAIMED]  # the claim is kept
    assert all(abs((r[2] - r[1]).total_seconds()) < 60 for r in rows)  # beside server time


# Columns of the events table added by migration 7 and later.
LATER_COLUMNS = ("received_at", "from_agent_id", "to_agent_id", "max_pause_ms", "sha256",
                 "audio_days", "hold_id", "case", "what", "role", "note")


def old_row(position: int, at: datetime) -> list[Any]:
    """An events row as the table before migration 7 held it (no received_at)."""
    values: dict[str, Any] = dict.fromkeys(EVENT_COLUMNS)
    values |= {"position": position, "type": "CommandRejected", "stream": "call",
               "key": "c1", "version": position, "recorded_at": datetime(2026, 3, 1, tzinfo=UTC),
               "at": at, "call_id": "c1", "org_id": "org", "command": "start",
               "code": "future_timestamp", "state": "off", "by": "a"}
    for column in LATER_COLUMNS:
        del values[column]
    return list(values.values())


def test_migration_7_repartitions_an_existing_events_table(
    ch_client: Client, ch_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:6])
    assert migrate(ch_client, ch_database) == [1, 2, 3, 4, 5, 6]
    columns = [c for c in EVENT_COLUMNS if c not in LATER_COLUMNS]
    ch_client.insert("events", [old_row(i + 1, at) for i, at in enumerate(CLAIMED)],
                     database=ch_database, column_names=columns)
    assert partitions(ch_client, ch_database) == {month(at) for at in CLAIMED}
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:7])

    for statement in REPARTITION_EVENTS:  # a first run that stopped before it was recorded
        ch_client.command(statement, parameters={"db": ch_database})
    assert migrate(ch_client, ch_database) == [7]

    assert partitions(ch_client, ch_database) == {"202603"}
    assert raw_count(ch_client, ch_database, "events") == len(CLAIMED)
    rows = ch_client.query("SELECT at, received_at FROM {db:Identifier}.events ORDER BY position",
                           parameters={"db": ch_database}).result_rows
    assert [(r[0].year, r[1]) for r in rows] == [(at.year, None) for at in CLAIMED]
    tables = ch_client.query("SELECT name FROM system.tables WHERE database = {db:String}",
                             parameters={"db": ch_database}).result_rows
    assert "events_next" not in {t for (t,) in tables}
