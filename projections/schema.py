"""The projection tables, as versioned migrations applied at start-up.

Every statement is idempotent (IF NOT EXISTS) and `schema_migrations` records the versions
applied, so starting twice, or two processes starting at once, changes nothing. Engines and
ordering keys are explained in projections/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from projections.errors import ProjectionError
from projections.utc import to_millis

# The tables a rebuild fills afresh and swaps in; schema_migrations is not one of them.
PROJECTION_TABLES = ("events", "intervals", "calls", "positions")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS {db:Identifier}.schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree ORDER BY version
"""

EVENTS = """
CREATE TABLE IF NOT EXISTS {db:Identifier}.events (
    position UInt64,
    type LowCardinality(String),
    stream LowCardinality(String),
    key String,
    version UInt32,
    recorded_at DateTime64(3, 'UTC'),
    at DateTime64(3, 'UTC'),
    call_id Nullable(String),
    org_id String,
    agent_id Nullable(String),
    direction LowCardinality(Nullable(String)),
    mode LowCardinality(Nullable(String)),
    policy_version Nullable(UInt32),
    pause_behavior LowCardinality(Nullable(String)),
    recording_no Nullable(UInt32),
    automatic Nullable(Bool),
    state_before LowCardinality(Nullable(String)),
    command LowCardinality(Nullable(String)),
    code LowCardinality(Nullable(String)),
    state LowCardinality(Nullable(String)),
    `by` Nullable(String),
    command_id Nullable(String),
    changed_by Nullable(String),
    reason Nullable(String)
) ENGINE = ReplacingMergeTree(position)
PARTITION BY toYYYYMM(at)
ORDER BY (stream, key, version)
"""

INTERVALS = """
CREATE TABLE IF NOT EXISTS {db:Identifier}.intervals (
    call_id String,
    interval_no UInt32,
    state LowCardinality(String),
    start_at DateTime64(3, 'UTC'),
    end_at Nullable(DateTime64(3, 'UTC')),
    duration_ms Nullable(Int64),
    recording_no Nullable(UInt32),
    reason LowCardinality(Nullable(String)),
    mode LowCardinality(String),
    org_id String,
    agent_id String,
    position UInt64
) ENGINE = ReplacingMergeTree(position)
PARTITION BY toYYYYMM(start_at)
ORDER BY (call_id, interval_no)
"""

CALLS = """
CREATE TABLE IF NOT EXISTS {db:Identifier}.calls (
    call_id String,
    org_id String,
    agent_id String,
    direction LowCardinality(String),
    mode LowCardinality(String),
    policy_version UInt32,
    pause_behavior LowCardinality(String),
    started_at DateTime64(3, 'UTC'),
    ended_at Nullable(DateTime64(3, 'UTC')),
    state LowCardinality(String),
    recording_no UInt32,
    recording_ms Int64,
    paused_ms Int64,
    off_ms Int64,
    pauses UInt32,
    refusals UInt32,
    longest_pause_ms Int64,
    timeline String,
    version UInt32,
    position UInt64
) ENGINE = ReplacingMergeTree(position)
PARTITION BY toYYYYMM(started_at)
ORDER BY call_id
"""

POSITIONS = """
CREATE TABLE IF NOT EXISTS {db:Identifier}.positions (
    consumer String,
    position UInt64,
    generation String,
    updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(position)
ORDER BY consumer
"""

# The events table again, partitioned by when the store recorded each event (the server's
# clock) rather than by `at`: a refused command's `at` is the client's claim, which may be
# decades away, and every distinct month of it made a partition. Also keeps the server's
# receive time of refusals. ClickHouse cannot change a partition key in place, so the table
# is copied into a new one that is swapped in. Every step may run again after a crash
# part-way (the copy is dropped first, and it is complete once swapped in).
EVENTS_NEXT = "events_next"
REPARTITIONED_EVENTS = (EVENTS
    .replace(".events (", f".{EVENTS_NEXT} (")
    .replace("    reason Nullable(String)\n",
             "    reason Nullable(String),\n    received_at Nullable(DateTime64(3, 'UTC'))\n")
    .replace("PARTITION BY toYYYYMM(at)", "PARTITION BY toYYYYMM(recorded_at)"))
COPIED_COLUMNS = ", ".join(f"`{c}`" for c in (
    "position", "type", "stream", "key", "version", "recorded_at", "at", "call_id", "org_id",
    "agent_id", "direction", "mode", "policy_version", "pause_behavior", "recording_no",
    "automatic", "state_before", "command", "code", "state", "by", "command_id",
    "changed_by", "reason",
))
REPARTITION_EVENTS = (
    f"DROP TABLE IF EXISTS {{db:Identifier}}.{EVENTS_NEXT}",
    REPARTITIONED_EVENTS,
    f"ALTER TABLE {{db:Identifier}}.{EVENTS_NEXT} MODIFY SETTING old_parts_lifetime = 30",
    f"INSERT INTO {{db:Identifier}}.{EVENTS_NEXT} ({COPIED_COLUMNS}) "
    f"SELECT {COPIED_COLUMNS} FROM {{db:Identifier}}.events",
    f"EXCHANGE TABLES {{db:Identifier}}.events AND {{db:Identifier}}.{EVENTS_NEXT}",
    f"DROP TABLE {{db:Identifier}}.{EVENTS_NEXT}",
)

# Replaced parts are kept 8 minutes by default, each holding memory; at one insert
# per batch that grew the process by megabytes a minute under steady load.
SHORT_LIVED_OLD_PARTS = tuple(
    f"ALTER TABLE {{db:Identifier}}.{table} MODIFY SETTING old_parts_lifetime = 30"
    for table in ("events", "intervals", "calls", "positions")
)

# Who opened each interval. Rows written before it read NULL until a rebuild rewrites them
# (the call's `timeline` document, in `calls`, needs no column: its intervals gain the actor).
INTERVAL_ACTOR = (
    "ALTER TABLE {db:Identifier}.intervals ADD COLUMN IF NOT EXISTS `by` Nullable(String) "
    "AFTER reason",
)

# The list of calls (newest first, keyset on started_at and call_id, filtered by
# organisation and agent): the legal-hold flag it shows, and skip indexes that let a page
# read only the granules near its key (started_at and org_id never change for a call, so
# skipping granules is safe under FINAL; agent_id changes with a transfer since migration 9,
# and the list no longer filters on it). Existing parts get the indexes too.
CALL_LIST = (
    "ALTER TABLE {db:Identifier}.calls ADD COLUMN IF NOT EXISTS legal_hold Bool DEFAULT false",
    "ALTER TABLE {db:Identifier}.calls ADD INDEX IF NOT EXISTS calls_started_at started_at "
    "TYPE minmax GRANULARITY 1",
    "ALTER TABLE {db:Identifier}.calls ADD INDEX IF NOT EXISTS calls_org_agent (org_id, agent_id) "
    "TYPE bloom_filter GRANULARITY 1",
    "ALTER TABLE {db:Identifier}.calls MATERIALIZE INDEX calls_started_at",
    "ALTER TABLE {db:Identifier}.calls MATERIALIZE INDEX calls_org_agent",
)

# Transfers: who had each call (every holder in order; `agent_id` is now the current one)
# and the agents of each CallTransferred. Rows written before read `agents` as their only
# agent. The list of calls filters an agent on `agents`, which only ever grows, so the skip
# index on it is safe under FINAL (unlike one on `agent_id`, which a transfer changes).
TRANSFERS = (
    "ALTER TABLE {db:Identifier}.calls ADD COLUMN IF NOT EXISTS agents Array(String) "
    "DEFAULT [agent_id]",
    "ALTER TABLE {db:Identifier}.calls ADD INDEX IF NOT EXISTS calls_agents agents "
    "TYPE bloom_filter GRANULARITY 1",
    "ALTER TABLE {db:Identifier}.calls MATERIALIZE INDEX calls_agents",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS from_agent_id "
    "Nullable(String)",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS to_agent_id "
    "Nullable(String)",
)

# Capped pauses: the cap a policy change set, or a call started with (NULL: no cap, and for
# events projected before it was kept, until a rebuild). An automatic resume already has
# `automatic`.
PAUSE_CAP = (
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS max_pause_ms "
    "Nullable(UInt32) AFTER received_at",
)

# The compliance lifecycle: what a deletion removed, retention changes, legal holds, and
# the reads of a call's access log (stream 'access'). Events projected before these were
# kept have NULL here.
LIFECYCLE = (
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS sha256 Nullable(String)",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS note Nullable(String)",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS audio_days Nullable(UInt32)",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS hold_id Nullable(String)",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS `case` Nullable(String)",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS what "
    "LowCardinality(Nullable(String))",
    "ALTER TABLE {db:Identifier}.events ADD COLUMN IF NOT EXISTS role "
    "LowCardinality(Nullable(String))",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raw events, one row per published event", (EVENTS,)),
    Migration(2, "timeline intervals, one row per interval", (INTERVALS,)),
    Migration(3, "call summaries with each call's timeline", (CALLS,)),
    Migration(4, "consumer positions", (POSITIONS,)),
    Migration(5, "drop replaced parts after 30 s instead of 8 min", SHORT_LIVED_OLD_PARTS),
    Migration(6, "who opened each interval", INTERVAL_ACTOR),
    Migration(7, "events partitioned by recorded_at, with received_at", REPARTITION_EVENTS),
    Migration(8, "the list of calls: legal-hold flag, skip indexes", CALL_LIST),
    Migration(9, "transfers: every agent of a call, the agents of a transfer", TRANSFERS),
    Migration(10, "the pause cap of policy changes and calls", PAUSE_CAP),
    Migration(11, "retention, legal holds, deletions and reads", LIFECYCLE),
)


def migrate(client: Client, database: str) -> list[int]:
    """Apply the migrations not yet recorded in `database`; returns the versions applied."""
    params = {"db": check_identifier(database)}
    client.command("CREATE DATABASE IF NOT EXISTS {db:Identifier}", parameters=params)
    client.command(MIGRATIONS_TABLE, parameters=params)
    done = applied(client, database)
    newly = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement, parameters=params)
        now = to_millis(datetime.now(UTC))
        client.insert("schema_migrations", [[migration.version, migration.name, now]],
                      database=database, column_names=["version", "name", "applied_at"])
        newly.append(migration.version)
    return newly


def applied(client: Client, database: str) -> set[int]:
    rows = client.query(
        "SELECT version FROM {db:Identifier}.schema_migrations FINAL",
        parameters={"db": check_identifier(database)},
    ).result_rows
    return {int(row[0]) for row in rows}


def check_identifier(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ProjectionError(
            f"{name!r} is not a usable ClickHouse name (1-64 letters, digits or _)"
        )
    return name


def quoted(database: str, table: str) -> str:
    """`db`.`table` for DDL that cannot take identifier parameters (names checked first)."""
    return f"`{check_identifier(database)}`.`{check_identifier(table)}`"


def create_shadows(client: Client, database: str, suffix: str) -> None:
    """Empty copies of the projection tables (same columns, engine and keys)."""
    drop_shadows(client, database, suffix)
    for table in PROJECTION_TABLES:
        client.command(
            f"CREATE TABLE {quoted(database, table + suffix)} AS {quoted(database, table)}"
        )


def exchange(client: Client, database: str, suffix: str) -> None:
    """Swap every projection table with its shadow, in one statement."""
    pairs = ", ".join(
        f"{quoted(database, table)} AND {quoted(database, table + suffix)}"
        for table in PROJECTION_TABLES
    )
    client.command(f"EXCHANGE TABLES {pairs}")


def drop_shadows(client: Client, database: str, suffix: str) -> None:
    for table in PROJECTION_TABLES:
        client.command(f"DROP TABLE IF EXISTS {quoted(database, table + suffix)}")
