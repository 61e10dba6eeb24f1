"""The bulk rebuild: the projection tables computed inside ClickHouse from the stored events.

The projection consumer (`projections.consumer`) applies events one at a time in Python:
right for a live feed, slow for a replay of millions. A rebuild instead hands ClickHouse the
stored events as they are, undecoded (position, topic, stream version and the encoded
state), and computes every table there in a few statements:

1. `rebuild_stored`: the raw rows of one page, loaded by the client while a thread reads
   the next page from the store.
2. `rebuild_decoded`: each page decoded, one row per published event, every contract field
   a typed column, parsed from the state in one pass (the published type from the topic,
   as `domain.published.TOPIC_TYPES` gives it; each column only for the types whose
   contract fields hold it, `domain.published.FIELDS`; the upcasters' defaults for fields
   that older class versions lack).
3. `events`, `intervals` and `calls`: window functions over each call's events in version
   order. Who had the call at each event is the last agent handed the call so far; the
   recording number the highest one started so far; an interval is opened by each event
   that moves the call (and by the start of a call that opens off) and closed by the next
   one. A call's summary and its `timeline` document gather its intervals, refusals and
   holders. The result is the state `projections.callstate.CallProjection` leaves, row
   for row: the tests rebuild the same stores both ways and compare every table. The
   calls are worked on a bucket at a time (a hash of the call id, `BUCKET_EVENTS` events
   a bucket; the decoded events wait on disk), so memory does not grow with the store.
4. `positions`: the highest position loaded, so the consumer goes on from there.

The encoding read is the one the event store writes: the JSON of the eventsourcing
library's transcoder, where a datetime is `{"_type_": "datetime_iso", "_data_": ISO 8601}`.
A source in another encoding is not offered to this path (see `RawEventSource`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from domain import published
from domain.timeline import NOT_STARTED, STOPPED, SYSTEM
from projections import schema
from projections.callstate import CALL_COLUMNS, INTERVAL_COLUMNS, STARTS_OFF, STATE_AFTER
from projections.rows import EVENT_COLUMNS
from projections.tables import Tables

# The encoding the statements below read (a source says which one it gives).
ENCODING = "eventsourcing-json"
# Raw rows per insert of step 1.
PAGE = 100_000
# The windows and summaries run over the calls of one bucket (by a hash of the call id) at
# a time, about this many events each, so the memory they take does not grow with the store.
BUCKET_EVENTS = 2_000_000
STAGING = ("rebuild_stored", "rebuild_decoded", "rebuild_call_events", "rebuild_intervals")


@dataclass(frozen=True)
class RawPage:
    """Stored events after a position, undecoded, in position order, as columns; `last` is
    how far the page read (the store's head once nothing is left)."""

    positions: list[int]
    topics: list[str]
    versions: list[int]
    states: list[bytes]
    last: int


class RawEventSource(Protocol):
    """The event store as a bulk rebuild reads it (port)."""

    encoding: str

    def head(self) -> int:
        """The position of the last stored event."""
        ...

    def raw_page(self, after: int, limit: int) -> RawPage:
        """At most `limit` stored events after `after`, published types only."""
        ...


# The contract fields as columns of `decoded`: the ClickHouse type each is parsed as. Times
# are parsed apart (their ISO text) and kept as epoch milliseconds.
FIELD_TYPES = {
    "call_id": "String", "org_id": "String", "agent_id": "String", "direction": "String",
    "mode": "String", "policy_version": "UInt32", "pause_behavior": "String",
    "recording_no": "UInt32", "automatic": "Bool", "state_before": "String",
    "command": "String", "code": "String", "state": "String", "by": "String",
    "command_id": "String", "changed_by": "String", "reason": "String",
    "from_agent_id": "String", "to_agent_id": "String", "max_pause_ms": "UInt32",
    "sha256": "String", "audio_days": "UInt32", "hold_id": "String", "case": "String",
    "what": "String", "role": "String", "note": "String",
}
TIME_FIELDS = ("at", "received_at")
# What the domain's upcasters give a field that an older class version did not store,
# where that is not None (`domain.call.Call.RecordingResumed.upcast_v1_v2`).
UPCAST_DEFAULTS = {("RecordingResumed", "automatic"): "false"}


_UNMAPPED = {f for fields in published.FIELDS.values() for f in fields} ^ {
    *FIELD_TYPES, *TIME_FIELDS}
if _UNMAPPED:  # a contract field the statements would silently leave out, or one too many
    raise RuntimeError(f"projections.bulk: FIELD_TYPES and the contract's fields differ "
                       f"in {sorted(_UNMAPPED)}")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _array(values: Sequence[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in values) + "]"


def _types_with(name: str) -> list[str]:
    return [t for t, fields in published.FIELDS.items() if name in fields]


def _decode_statement() -> str:
    parsed = ", ".join(
        ["`timestamp` Tuple(_data_ String)"]
        + [f"`{name}` Tuple(_data_ Nullable(String))" for name in TIME_FIELDS]
        + [f"`{name}` Nullable({kind})" for name, kind in FIELD_TYPES.items()]
    )
    columns = []
    for name in FIELD_TYPES:
        value = f"s.`{name}`"
        defaults = {t: d for (t, f), d in UPCAST_DEFAULTS.items() if f == name}
        for type_name, default in defaults.items():
            value = f"if(type = {_quote(type_name)}, coalesce({value}, {default}), {value})"
        columns.append(f"if(type IN {_array(_types_with(name))}, {value}, NULL) AS `{name}`")
    for name in TIME_FIELDS:
        columns.append(f"if(type IN {_array(_types_with(name))}, "
                       f"{_millis(f's.`{name}`._data_')}, NULL) AS `{name}`")
    topics = list(published.TOPIC_TYPES)
    types = [published.TOPIC_TYPES[t] for t in topics]
    policy, access = published.POLICY_EVENT_TYPES, published.ACCESS_EVENT_TYPES
    return f"""
INSERT INTO {{db:Identifier}}.rebuild_decoded
SELECT position, type,
       multiIf(type IN {_array(policy)}, 'policy', type IN {_array(access)}, 'access', 'call')
           AS stream,
       if(stream = 'policy', assumeNotNull(org_id), assumeNotNull(call_id)) AS key,
       version, {_millis('s.timestamp._data_')} AS recorded_at,
       {', '.join(columns)}
FROM (
    SELECT position, version, transform(topic, {_array(topics)}, {_array(types)}, '') AS type,
           JSONExtract(state, 'Tuple({parsed})') AS s
    FROM {{db:Identifier}}.rebuild_stored
    WHERE type != ''
)
WHERE throwIf(recorded_at IS NULL OR `at` IS NULL,
              'a stored event has no readable time: its state is not in the encoding expected') = 0
"""


def _millis(iso: str) -> str:
    """Epoch milliseconds, floored, of an ISO 8601 text (NULL stays NULL)."""
    micros = f"toUnixTimestamp64Micro(parseDateTime64BestEffortOrNull({iso}, 6, 'UTC'))"
    return f"intDiv({micros} - if({micros} % 1000 < 0, 1000, 0), 1000)"


def _create_statements() -> tuple[str, ...]:
    typed = ", ".join(
        [f"`{name}` Nullable({kind})" for name, kind in FIELD_TYPES.items()]
        + [f"`{name}` Nullable(Int64)" for name in TIME_FIELDS]
    )
    return (
        "CREATE TABLE {db:Identifier}.rebuild_stored (position UInt64, "
        "topic LowCardinality(String), version UInt32, state String) ENGINE = Memory",
        "CREATE TABLE {db:Identifier}.rebuild_decoded (position UInt64, "
        "type LowCardinality(String), stream LowCardinality(String), key String, "
        "version UInt32, recorded_at Int64, "
        f"{typed}) ENGINE = MergeTree ORDER BY (key, version)",
    )


MOVERS = list(STATE_AFTER)
STATE_OF = (f"transform(type, {_array(MOVERS)}, "
            f"{_array([STATE_AFTER[m] for m in MOVERS])}, 'off')")
# Each call event with what the call was when it happened: its mode, who had it (the last
# agent handed the call so far) and its recording number (the highest started so far).
CALL_EVENTS = """
SELECT *,
       max(if(type = 'CallStarted', mode, NULL)) OVER call AS call_mode,
       max(type = 'CallStarted') OVER call AS seen_start,
       last_value(multiIf(type = 'CallStarted', agent_id,
                          type = 'CallTransferred', to_agent_id, NULL)) OVER upto AS holder,
       max(if(type = 'RecordingStarted', recording_no, 0)) OVER upto AS current_no
FROM {db:Identifier}.rebuild_decoded
WHERE stream = 'call' AND cityHash64(key) % {buckets:UInt32} = {bucket:UInt32}
WINDOW call AS (PARTITION BY key),
       upto AS (PARTITION BY key ORDER BY version ROWS UNBOUNDED PRECEDING)
"""
# The events that open an interval, each with the next event that moves the call (which
# closes it), in the order of the call's stream.
OPENERS = f"""
SELECT key, position, at, version, org_id, holder, current_no, call_mode,
       {STATE_OF} AS moved_to,
       if(type = 'CallStarted', 'off', moved_to) AS opened,
       if(automatic, {_quote(SYSTEM)}, `by`) AS opened_by,
       type = 'CallEnded' AS is_end,
       leadInFrame(at) OVER stream AS next_at,
       leadInFrame(position) OVER stream AS next_position,
       row_number() OVER stream AS n,
       n = count() OVER stream AS is_last
FROM {{db:Identifier}}.rebuild_call_events
WHERE seen_start AND (type IN {_array(MOVERS)}
      OR (type = 'CallStarted' AND mode IN {_array(sorted(STARTS_OFF))}))
WINDOW stream AS (PARTITION BY key ORDER BY version
                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
"""
# leadInFrame gives the type's default, not NULL, past the last row.
OPEN_INTERVALS = f"""
SELECT key AS call_id, toUInt32(n) AS interval_no, opened AS state, at AS start_at,
       if(is_last, NULL, next_at) AS end_at,
       if(end_at IS NULL, position, next_position) AS last_position,
       if(opened = 'off', NULL, current_no) AS recording_no,
       if(opened = 'off', if(current_no > 0, {_quote(STOPPED)}, {_quote(NOT_STARTED)}), NULL)
           AS reason,
       opened_by, call_mode, org_id, holder
FROM ({OPENERS})
WHERE NOT is_end
"""


def _interval_statement() -> str:
    return f"""
INSERT INTO {{db:Identifier}}.{{intervals:Identifier}} ({_names(INTERVAL_COLUMNS)})
SELECT call_id, interval_no, state, fromUnixTimestamp64Milli(start_at, 'UTC'),
       fromUnixTimestamp64Milli(end_at, 'UTC'), end_at - start_at, recording_no, reason,
       opened_by, call_mode, assumeNotNull(org_id), holder, last_position
FROM {{db:Identifier}}.rebuild_intervals
"""


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"`{c}`" for c in columns)


def _event_statements() -> tuple[str, str]:
    """The `events` rows of call events (from one bucket's windows), and of the others."""
    call_columns = {"agent_id": "if(seen_start, holder, agent_id)",
                    "mode": "if(seen_start, call_mode, mode)"}
    times = {"recorded_at", "at", "received_at"}

    def column(name: str) -> str:
        value = call_columns.get(name, f"`{name}`")
        return f"fromUnixTimestamp64Milli({value}, 'UTC')" if name in times else value

    selected = ", ".join(column(c) for c in EVENT_COLUMNS)
    plain = ", ".join(
        (f"fromUnixTimestamp64Milli(`{c}`, 'UTC')" if c in times else f"`{c}`")
        for c in EVENT_COLUMNS)
    into = f"INSERT INTO {{db:Identifier}}.{{events:Identifier}} ({_names(EVENT_COLUMNS)})"
    return (f"{into} SELECT {selected} FROM {{db:Identifier}}.rebuild_call_events",
            f"{into} SELECT {plain} FROM {{db:Identifier}}.rebuild_decoded "
            "WHERE stream != 'call'")


def _call_statement() -> str:
    interval = ("tuple(state, start_at, end_at, recording_no, reason, last_position, "
                "opened_by, holder)")
    return f"""
INSERT INTO {{db:Identifier}}.{{calls:Identifier}} ({_names(CALL_COLUMNS)})
SELECT e.key, org_id, agent_now, direction, mode, policy_version, pause_behavior,
       fromUnixTimestamp64Milli(started_at, 'UTC'), fromUnixTimestamp64Milli(ended_at, 'UTC'),
       state_now, recording_now, ifNull(i.recording_ms, 0), ifNull(i.paused_ms, 0),
       ifNull(i.off_ms, 0), toUInt32(ifNull(i.pauses, 0)), toUInt32(refusals),
       ifNull(i.longest_pause_ms, 0),
       concat('{{"call_id":', toJSONString(e.key), ',"org_id":', toJSONString(org_id),
              ',"agent_id":', toJSONString(agent_now), ',"mode":', toJSONString(mode),
              ',"started_at":', toString(started_at),
              ',"ended_at":', ifNull(toString(ended_at), 'null'),
              ',"intervals":', ifNull(i.intervals, '[]'),
              ',"rejected":', toJSONString(rejected),
              ',"agents":', toJSONString(holders), '}}'),
       version_now, position_now, false, holders.1
FROM (
    SELECT key,
           any(if(type = 'CallStarted', org_id, NULL)) AS org_id,
           any(if(type = 'CallStarted', direction, NULL)) AS direction,
           any(if(type = 'CallStarted', mode, NULL)) AS mode,
           any(if(type = 'CallStarted', policy_version, NULL)) AS policy_version,
           any(if(type = 'CallStarted', pause_behavior, NULL)) AS pause_behavior,
           any(if(type = 'CallStarted', at, NULL)) AS started_at,
           any(if(type = 'CallEnded', at, NULL)) AS ended_at,
           argMax(holder, version) AS agent_now,
           argMaxIf({STATE_OF}, version, type IN {_array(MOVERS)}) AS moved_state,
           if(countIf(type IN {_array(MOVERS)}) = 0, 'off', moved_state) AS state_now,
           toUInt32(max(current_no)) AS recording_now,
           countIf(type = 'CommandRejected') AS refusals,
           arrayMap(r -> r.2, arraySort(r -> r.1, groupArrayIf(
               (version, (command, at, code, `by`)), type = 'CommandRejected'))) AS rejected,
           arrayMap(h -> h.2, arraySort(h -> h.1, groupArrayIf(
               (version, (holder, at)), type IN ('CallStarted', 'CallTransferred'))))
               AS handed,
           arrayMap((h, k) -> (h.1, h.2,
                               if(k = length(handed), ended_at, handed[k + 1].2)),
                    handed, arrayEnumerate(handed)) AS holders,
           max(version) AS version_now, max(position) AS position_now
    FROM {{db:Identifier}}.rebuild_call_events
    WHERE seen_start
    GROUP BY key
) AS e
LEFT JOIN (
    SELECT call_id,
           sumIf(end_at - start_at, state = 'recording' AND end_at IS NOT NULL) AS recording_ms,
           sumIf(end_at - start_at, state = 'paused' AND end_at IS NOT NULL) AS paused_ms,
           sumIf(end_at - start_at, state = 'off' AND end_at IS NOT NULL) AS off_ms,
           countIf(state = 'paused') AS pauses,
           ifNull(maxIf(end_at - start_at, state = 'paused' AND end_at IS NOT NULL), 0)
               AS longest_pause_ms,
           toJSONString(arrayMap(x -> x.2, arraySort(x -> x.1,
               groupArray((interval_no, {interval}))))) AS intervals
    FROM {{db:Identifier}}.rebuild_intervals
    GROUP BY call_id
) AS i ON i.call_id = e.key
SETTINGS join_use_nulls = 1
"""


# Rows of a rebuild are unique: nothing for an insert to merge away. JSON is written as
# `CallProjection.document` writes it (UTF-8, "/" as is), byte for byte.
SETTINGS = {"max_insert_threads": 2, "optimize_on_insert": 0,
            "output_format_json_escape_forward_slashes": 0}
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class BulkReport:
    events: int
    position: int


def load(tables: Tables, source: RawEventSource, consumer: str,
         progress: ProgressCallback | None = None) -> BulkReport:
    """Fill the (empty) projection tables of `tables` from every event `source` holds now;
    returns how many published events were loaded and the position reached."""
    client, database = tables.client, tables.database
    params: dict[str, Any] = {"db": database} | {
        table: tables.name(table) for table in schema.PROJECTION_TABLES}
    drop_staging(client, database)
    try:
        for statement in CREATE_STATEMENTS:
            client.command(statement, parameters=params)
        events, position = _stage(client, params, source, progress)
        client.command(OTHER_EVENTS, parameters=params, settings=SETTINGS)
        buckets = max(1, -(-events // BUCKET_EVENTS))
        for bucket in range(buckets):
            bucket_params = params | {"buckets": buckets, "bucket": bucket}
            for statement in BUCKET_STATEMENTS:
                client.command(statement, parameters=bucket_params, settings=SETTINGS)
        if position:
            tables.write_position(consumer, position, uuid.uuid4().hex)
    finally:
        drop_staging(client, database)
    return BulkReport(events, position)


DECODE = _decode_statement()
CREATE_STATEMENTS = _create_statements()
CALL_EVENT_ROWS, OTHER_EVENTS = _event_statements()
# The statements run for each bucket of calls. One bucket's call events and intervals are
# held in memory: bounded by BUCKET_EVENTS, whatever the size of the store.
BUCKET_STATEMENTS = (
    "CREATE TABLE {db:Identifier}.rebuild_call_events ENGINE = Memory AS " + CALL_EVENTS,
    "CREATE TABLE {db:Identifier}.rebuild_intervals ENGINE = Memory AS " + OPEN_INTERVALS,
    CALL_EVENT_ROWS, _interval_statement(), _call_statement(),
    "DROP TABLE {db:Identifier}.rebuild_call_events",
    "DROP TABLE {db:Identifier}.rebuild_intervals",
)


def _stage(client: Client, params: dict[str, Any], source: RawEventSource,
           progress: ProgressCallback | None) -> tuple[int, int]:
    """Every page of the source into `rebuild_stored`, decoded into `rebuild_decoded` page
    by page; the next page is read by a thread of its own meanwhile (ClickHouse works
    outside the interpreter's lock). Returns the events loaded and the last position."""
    database, head = params["db"], source.head()
    events, position, after = 0, 0, 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-read") as reader:
        ahead: Future[RawPage] | None = reader.submit(source.raw_page, 0, PAGE)
        while ahead is not None:
            page = ahead.result()
            if page.last <= after:
                break
            after = page.last
            ahead = reader.submit(source.raw_page, after, PAGE) if after < head else None
            if page.positions:
                columns: list[Sequence[Any]] = [page.positions, page.topics, page.versions,
                                                page.states]
                client.insert("rebuild_stored", columns, database=database,
                              column_oriented=True,
                              column_names=["position", "topic", "version", "state"])
                client.command(DECODE, parameters=params, settings=SETTINGS)
                client.command("TRUNCATE TABLE {db:Identifier}.rebuild_stored",
                               parameters=params)
                events += len(page.positions)
                position = page.positions[-1]
            if progress is not None:
                progress(events, position)
    return events, position


def drop_staging(client: Client, database: str) -> None:
    for table in STAGING:
        client.command(f"DROP TABLE IF EXISTS {schema.quoted(database, table)}")
