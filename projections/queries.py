"""Every query the projections answer, as SQL with bound parameters only.

The timeline endpoint and the analyst queries live here, in one place: projections/README.md
shows the same SQL (a test checks they match) and the tests run each query against tables
built from generated calls. Values are always bound as `{name:Type}` parameters; the database
is bound as an identifier (`{db:Identifier}`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from projections.schema import check_identifier
from projections.utc import aware

# One row: the call's timeline document (see projections/callstate.py) and the version of
# the call's last event it holds (what `?min_position` waits for).
TIMELINE = """
SELECT timeline, version FROM {db:Identifier}.calls FINAL
WHERE call_id = {call_id:String}
"""

# A page of call summaries, newest first, by keyset on (started_at, call_id): every filter
# is a bound parameter, NULL when not asked for; the cursor's key bounds the page. Times
# are bound as epoch milliseconds (`from_ms` is 0 when not asked: no call starts before
# 1970). One row more than the page is read, to know whether another page follows.
# `agent_id` lists the calls the agent has had, now or before a transfer (`agents` only
# grows, so the filter is safe under FINAL). `on_hold` is computed at read time from the
# holds in `events` placed and not released, gathered in one scan of the policy stream
# into three arrays: organisations held whole, calls held, (org, agent) pairs held. A call
# is held by an active hold of its organisation on its id, on an agent who had it, or on
# every call. No FINAL there: a row stored twice changes neither `any` nor `countIf > 0`.
HOLD_SETS = """WITH (
    SELECT (groupArrayIf(org_id, call_id IS NULL AND agent_id IS NULL),
            groupArrayIf(assumeNotNull(call_id), call_id IS NOT NULL),
            groupArrayIf((org_id, assumeNotNull(agent_id)), agent_id IS NOT NULL))
    FROM (
        SELECT any(org_id) AS org_id, any(call_id) AS call_id, any(agent_id) AS agent_id
        FROM {db:Identifier}.events
        WHERE stream = 'policy' AND type IN ('LegalHoldPlaced', 'LegalHoldReleased')
        GROUP BY hold_id
        HAVING countIf(type = 'LegalHoldReleased') = 0
    )
) AS holds
"""
ON_HOLD = """(has(holds.1, org_id) OR has(holds.2, call_id)
           OR hasAny(holds.3, arrayMap(agent -> (org_id, agent), agents)))"""
CALL_COLUMNS = """call_id, org_id, agent_id, mode, state, started_at, ended_at,
       recording_ms, paused_ms, off_ms, refusals, longest_pause_ms,
       """ + ON_HOLD + """ AS on_hold,
       toUnixTimestamp64Milli(started_at) AS started_ms"""
CALL_FILTERS = """
FROM {db:Identifier}.calls FINAL
WHERE (empty({org_ids:Array(String)}) OR has({org_ids:Array(String)}, org_id))
  AND ({agent_id:Nullable(String)} IS NULL OR has(agents, {agent_id:Nullable(String)}))
  AND ({mode:Nullable(String)} IS NULL OR mode = {mode:Nullable(String)})
  AND ({state:Nullable(String)} IS NULL OR state = {state:Nullable(String)})
  AND started_at >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND ({to_ms:Nullable(Int64)} IS NULL
       OR started_at < fromUnixTimestamp64Milli({to_at:Int64}, 'UTC'))
  AND startsWith(call_id, {prefix:String})
  AND ({refused:Nullable(Bool)} IS NULL OR (refusals > 0) = {refused:Nullable(Bool)})
  AND longest_pause_ms >= {min_pause_ms:Int64}
  AND ({legal_hold:Nullable(Bool)} IS NULL OR on_hold = {legal_hold:Nullable(Bool)})
  AND ({after_ms:Nullable(Int64)} IS NULL
       OR (started_at, call_id) < (fromUnixTimestamp64Milli({after_at:Int64}, 'UTC'),
                                   {after_id:String}))
ORDER BY started_at DESC, call_id DESC
LIMIT {rows:UInt32}
"""
CALL_SUMMARIES = HOLD_SETS + "SELECT " + CALL_COLUMNS + CALL_FILTERS

# The page as the reader runs it, in two steps: the page's keys first, then the summaries
# of those calls by their primary key. The keys' query holds the conditions of the filters
# asked for only (each value still a bound parameter), so that the engine reads, for every
# row it merges under `FINAL`, only the columns those filters name. `CALL_SUMMARIES`, every
# filter in one static query, is the benchmarks' baseline.
CALL_CONDITIONS: dict[str, str] = {
    "org_ids": "has({org_ids:Array(String)}, org_id)",
    "agent_id": "has(agents, {agent_id:String})",
    "mode": "mode = {mode:String}",
    "state": "state = {state:String}",
    "from_ms": "started_at >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')",
    "to_ms": "started_at < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')",
    "prefix": "startsWith(call_id, {prefix:String})",
    "refused": "(refusals > 0) = {refused:Bool}",
    "min_pause_ms": "longest_pause_ms >= {min_pause_ms:Int64}",
    "legal_hold": ON_HOLD + " = {legal_hold:Bool}",
    "after_ms": "(started_at, call_id) < (fromUnixTimestamp64Milli({after_ms:Int64}, 'UTC'), "
                "{after_id:String})",
    # The reader's window of months (see `ClickHouseTimelineReader.calls`).
    "window_from": "started_at >= fromUnixTimestamp64Milli({window_from:Int64}, 'UTC')",
    "window_to": "started_at < fromUnixTimestamp64Milli({window_to:Int64}, 'UTC')",
}

# The months that hold calls: the `calls` table's partitions (`toYYYYMM(started_at)`), newest
# first, read from the engine's own list of parts (no table is scanned).
CALL_MONTHS = """
SELECT DISTINCT partition FROM system.parts
WHERE database = {db:String} AND table = 'calls' AND active
ORDER BY partition DESC
"""


def call_page_keys(filters: Iterable[str]) -> str:
    """The keys' query of a page with these filters (names of `CALL_CONDITIONS`)."""
    asked = set(filters)
    where = " AND ".join(c for name, c in CALL_CONDITIONS.items() if name in asked) or "1"
    holds = HOLD_SETS if "legal_hold" in asked else ""
    return (holds + "SELECT call_id, toUnixTimestamp64Milli(started_at) AS started_ms\n"
            f"FROM {{db:Identifier}}.calls FINAL\nWHERE {where}\n"
            "ORDER BY started_at DESC, call_id DESC\nLIMIT {rows:UInt32}\n"
            # A call's started_at never changes, so every version of its row lies in one
            # partition, and FINAL may merge each partition on its own.
            "SETTINGS do_not_merge_across_partitions_select_final = 1")


CALL_SUMMARIES_OF = HOLD_SETS + "SELECT " + CALL_COLUMNS + """
FROM {db:Identifier}.calls FINAL
WHERE call_id IN {ids:Array(String)}
"""

# The console's dashboard: the calls of some organisations started in a period (every
# parameter bound; `to_ms` NULL for no end), and the events of those calls.
DASHBOARD_CALLS_WHERE = """
WHERE (empty({org_ids:Array(String)}) OR has({org_ids:Array(String)}, org_id))
  AND ({agent_id:Nullable(String)} IS NULL OR has(agents, {agent_id:Nullable(String)}))
  AND started_at >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND ({to_ms:Nullable(Int64)} IS NULL
       OR started_at < fromUnixTimestamp64Milli({to_at:Int64}, 'UTC'))
"""

DASHBOARD_TOTALS = """
SELECT count() AS calls, sum(calls.recording_ms) AS recorded_ms,
       sum(calls.recording_ms + calls.paused_ms + calls.off_ms) AS all_ms,
       sum(calls.pauses) AS pause_count, max(calls.longest_pause_ms) AS longest_ms,
       countIf(calls.mode = 'always_on' AND calls.paused_ms + calls.off_ms > 0) AS gaps
FROM {db:Identifier}.calls FINAL
""" + DASHBOARD_CALLS_WHERE

DASHBOARD_EVENTS = """
SELECT type, code, agent_id, automatic, count() AS n
FROM {db:Identifier}.events FINAL
WHERE stream = 'call'
  AND (type = 'CommandRejected' OR (type = 'RecordingResumed' AND automatic))
  AND call_id IN (SELECT call_id FROM {db:Identifier}.calls FINAL
""" + DASHBOARD_CALLS_WHERE + """)
GROUP BY type, code, agent_id, automatic
"""

POLICY_ORGS = """
SELECT DISTINCT key AS org_id FROM {db:Identifier}.events
WHERE stream = 'policy'
ORDER BY org_id
"""

# Calls of an organisation that ended before a time and still have a recording whose audio
# is not deleted: what a retention sweep checks (against the event store) and may delete.
RETENTION_CANDIDATES = """
SELECT c.call_id AS call_id
FROM (
    SELECT call_id, recording_no FROM {db:Identifier}.calls FINAL
    WHERE org_id = {org_id:String} AND ended_at IS NOT NULL
      AND ended_at < fromUnixTimestamp64Milli({before:Int64}, 'UTC') AND recording_no > 0
) AS c
LEFT JOIN (
    SELECT assumeNotNull(call_id) AS call_id, uniqExact(recording_no) AS deleted
    FROM {db:Identifier}.events
    WHERE type = 'RecordingDeleted' AND org_id = {org_id:String}
    GROUP BY call_id
) AS d ON c.call_id = d.call_id
WHERE d.deleted < c.recording_no
ORDER BY call_id
"""

APPLIED_POSITION = """
SELECT position FROM {db:Identifier}.positions FINAL
WHERE consumer = {consumer:String}
"""


@dataclass(frozen=True)
class Parameter:
    """A parameter of an analyst query: its name, what kind of value, and what it means.

    Kinds: `date` (YYYY-MM-DD), `seconds` (a whole number of seconds, 0 to 2**32-1), `id`
    (a call or agent id) and `time` (RFC 3339 with an offset). Callers check values before binding.
    """

    name: str
    kind: str
    description: str


@dataclass(frozen=True)
class AnalystQuery:
    name: str
    title: str
    sql: str
    parameters: tuple[Parameter, ...] = ()

    def describe(self) -> str:
        given = ", ".join(f"`{p.name}` ({p.kind}: {p.description})" for p in self.parameters)
        return f"`{self.name}`: {self.title}" + (f"; parameters {given}" if given else "")


SECONDS_PER_AGENT_PER_DAY = AnalystQuery(
    "seconds_per_agent_per_day",
    "Recorded, paused and off seconds per agent per day",
    """
SELECT org_id, agent_id, day,
       sumIf(ms, state = 'recording') / 1000 AS recorded_s,
       sumIf(ms, state = 'paused') / 1000 AS paused_s,
       sumIf(ms, state = 'off') / 1000 AS off_s
FROM (
    SELECT org_id, agent_id, state,
           addDays(toDate(start_at), n) AS day,
           toDateTime64(day, 3, 'UTC') AS day_start,
           dateDiff('millisecond', greatest(start_at, day_start),
                    least(assumeNotNull(end_at), day_start + INTERVAL 1 DAY)) AS ms
    FROM {db:Identifier}.intervals FINAL
    ARRAY JOIN range(toUInt32(dateDiff('day', toDate(start_at), toDate(end_at)) + 1)) AS n
    WHERE end_at IS NOT NULL
)
WHERE ms > 0 AND day BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY org_id, agent_id, day
ORDER BY org_id, agent_id, day
""",
    (Parameter("from_day", "date", "the first day (UTC)"),
     Parameter("to_day", "date", "the last day (UTC), included")),
)

LONG_PAUSES = AnalystQuery(
    "long_pauses",
    "Calls with a pause longer than N seconds",
    """
SELECT call_id, org_id, agent_id, mode, longest_pause_ms
FROM {db:Identifier}.calls FINAL
WHERE longest_pause_ms > {seconds:UInt32} * 1000
ORDER BY longest_pause_ms DESC, call_id
""",
    (Parameter("seconds", "seconds", "list calls with a pause longer than this"),),
)

ALWAYS_ON_GAPS = AnalystQuery(
    "always_on_gaps",
    "Always-on calls with any interval that is not recording (must be none)",
    """
SELECT call_id, interval_no, state, start_at, end_at
FROM {db:Identifier}.intervals FINAL
WHERE mode = 'always_on' AND state != 'recording'
ORDER BY call_id, interval_no
""",
)

REFUSALS_BY_CODE_AND_MODE = AnalystQuery(
    "refusals_by_code_and_mode",
    "Refusals by code and mode",
    """
SELECT code, mode, count() AS refusals
FROM {db:Identifier}.events FINAL
WHERE type = 'CommandRejected'
GROUP BY code, mode
ORDER BY code, mode
""",
)

STATE_AT = AnalystQuery(
    "state_at",
    "The recording state of call X at time T",
    """
SELECT state, recording_no, start_at, end_at
FROM {db:Identifier}.intervals FINAL
WHERE call_id = {call_id:String}
  AND start_at <= {at:DateTime64(3, 'UTC')}
  AND (end_at IS NULL OR end_at > {at:DateTime64(3, 'UTC')})
ORDER BY interval_no DESC
LIMIT 1
""",
    (Parameter("call_id", "id", "the call"),
     Parameter("at", "time", "the moment asked about")),
)

AUTO_RESUMED_PAUSES = AnalystQuery(
    "auto_resumed_pauses",
    "Capped pauses that resumed by themselves, per organisation and agent per day",
    """
SELECT org_id, agent_id, toDate(at) AS day, count() AS auto_resumed
FROM {db:Identifier}.events FINAL
WHERE type = 'RecordingResumed' AND automatic
  AND day BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY org_id, agent_id, day
ORDER BY org_id, agent_id, day
""",
    (Parameter("from_day", "date", "the first day (UTC)"),
     Parameter("to_day", "date", "the last day (UTC), included")),
)

RECORDINGS_DELETED = AnalystQuery(
    "recordings_deleted",
    "Recordings deleted per organisation and reason per day",
    """
SELECT org_id, reason, toDate(at) AS day, count() AS deleted
FROM {db:Identifier}.events FINAL
WHERE type = 'RecordingDeleted'
  AND day BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY org_id, reason, day
ORDER BY org_id, reason, day
""",
    (Parameter("from_day", "date", "the first day (UTC)"),
     Parameter("to_day", "date", "the last day (UTC), included")),
)

ACTIVE_HOLDS = AnalystQuery(
    "active_holds",
    "Legal holds active now, per organisation",
    """
SELECT org_id, hold_id,
       multiIf(call_id IS NOT NULL, 'call', agent_id IS NOT NULL, 'agent', 'org') AS scope,
       call_id, agent_id, `case`, by AS placed_by, at AS placed_at
FROM {db:Identifier}.events FINAL
WHERE stream = 'policy' AND type = 'LegalHoldPlaced'
  AND assumeNotNull(hold_id) NOT IN (
      SELECT assumeNotNull(hold_id) FROM {db:Identifier}.events FINAL
      WHERE stream = 'policy' AND type = 'LegalHoldReleased')
ORDER BY org_id, version
""",
)

ACCESSES_OF_CALL = AnalystQuery(
    "accesses_of_call",
    "Who read the record of call X, per day",
    """
SELECT toDate(at) AS day, by, role, what, count() AS reads
FROM {db:Identifier}.events FINAL
WHERE stream = 'access' AND key = {call_id:String}
GROUP BY day, by, role, what
ORDER BY day, by, role, what
""",
    (Parameter("call_id", "id", "the call"),),
)

ACCESSES_OF_AGENT = AnalystQuery(
    "accesses_of_agent",
    "Who read the records of agent X's calls, per day",
    """
SELECT toDate(a.at) AS day, a.org_id AS org_id, a.by AS by, a.role AS role,
       a.what AS what, count() AS reads, uniqExact(a.key) AS calls
FROM {db:Identifier}.events AS a FINAL
WHERE a.stream = 'access'
  AND a.key IN (SELECT call_id FROM {db:Identifier}.calls FINAL
                WHERE has(agents, {agent_id:String}))
  AND day BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY day, org_id, by, role, what
ORDER BY day, org_id, by, role, what
""",
    (Parameter("agent_id", "id", "the agent (every call they had, before or after a "
                                  "transfer)"),
     Parameter("from_day", "date", "the first day (UTC)"),
     Parameter("to_day", "date", "the last day (UTC), included")),
)

ANALYST_QUERIES = (
    SECONDS_PER_AGENT_PER_DAY,
    LONG_PAUSES,
    ALWAYS_ON_GAPS,
    REFUSALS_BY_CODE_AND_MODE,
    STATE_AT,
    AUTO_RESUMED_PAUSES,
    RECORDINGS_DELETED,
    ACTIVE_HOLDS,
    ACCESSES_OF_CALL,
    ACCESSES_OF_AGENT,
)


ANALYST_BY_NAME = {query.name: query for query in ANALYST_QUERIES}


def run(client: Client, database: str, query: AnalystQuery, **params: Any) -> list[dict[str, Any]]:
    """The rows of an analyst query, as dicts; times come back UTC-aware."""
    return run_with_columns(client, database, query, **params)[1]


def run_with_columns(client: Client, database: str, query: AnalystQuery,
                     **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The column names and the rows of an analyst query (see `run`)."""
    result = client.query(query.sql, parameters={"db": check_identifier(database), **params})
    rows = [
        {name: aware(value) if isinstance(value, datetime) else value
         for name, value in row.items()}
        for row in result.named_results()
    ]
    return list(result.column_names), rows
