"""Reading and writing the projection tables of one database (or their rebuild shadows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from projections.callstate import CALL_COLUMNS, INTERVAL_COLUMNS
from projections.rows import EVENT_COLUMNS
from projections.schema import check_identifier
from projections.utc import to_millis

POSITION_COLUMNS = ("consumer", "position", "generation", "updated_at")

SELECT_CALLS = (
    "SELECT * FROM {db:Identifier}.{calls:Identifier} FINAL WHERE call_id IN {ids:Array(String)}"
)
SELECT_POLICY_VERSIONS = """
SELECT if(stream = 'access', concat('access:', key), key), max(version)
FROM {db:Identifier}.{events:Identifier}
WHERE (stream = 'policy' AND key IN {keys:Array(String)})
   OR (stream = 'access' AND concat('access:', key) IN {keys:Array(String)})
GROUP BY stream, key
"""
SELECT_POSITION = """
SELECT position, generation FROM {db:Identifier}.{positions:Identifier} FINAL
WHERE consumer = {consumer:String}
"""
COUNT_ROWS = """
SELECT (SELECT count() FROM {db:Identifier}.{events:Identifier})
     + (SELECT count() FROM {db:Identifier}.{calls:Identifier})
"""


class Tables:
    """The four projection tables of `database`, named with `suffix` (shadows of a rebuild)."""

    def __init__(self, client: Client, database: str, suffix: str = "") -> None:
        self.client = client
        self.database = check_identifier(database)
        self.suffix = suffix
        self._params: dict[str, Any] = {"db": database} | {
            table: check_identifier(table + suffix)
            for table in ("events", "intervals", "calls", "positions")
        }

    def name(self, table: str) -> str:
        return str(self._params[table])

    # -- reads ---------------------------------------------------------------------

    def position(self, consumer: str) -> tuple[int, str] | None:
        """The consumer's recorded position and generation, if it has written any."""
        rows = self._query(SELECT_POSITION, consumer=consumer).result_rows
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def is_empty(self) -> bool:
        return int(self._query(COUNT_ROWS).result_rows[0][0]) == 0

    def call_rows(self, call_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not call_ids:
            return []
        return list(self._query(SELECT_CALLS, ids=list(call_ids)).named_results())

    def policy_versions(self, org_ids: Sequence[str]) -> dict[str, int]:
        if not org_ids:
            return {}
        rows = self._query(SELECT_POLICY_VERSIONS, keys=list(org_ids)).result_rows
        return {str(key): int(version) for key, version in rows}

    # -- writes (each one insert, columnar) ------------------------------------------

    def insert_events(self, rows: Sequence[Sequence[Any]]) -> None:
        self._insert("events", EVENT_COLUMNS, rows)

    def insert_intervals(self, rows: Sequence[Sequence[Any]]) -> None:
        self._insert("intervals", INTERVAL_COLUMNS, rows)

    def insert_calls(self, rows: Sequence[Sequence[Any]]) -> None:
        self._insert("calls", CALL_COLUMNS, rows)

    def write_position(self, consumer: str, position: int, generation: str) -> None:
        now = to_millis(datetime.now(UTC))
        self._insert("positions", POSITION_COLUMNS, [(consumer, position, generation, now)])

    def _insert(self, table: str, columns: Iterable[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        data = list(zip(*rows, strict=False))  # rows of one table all have its columns
        self.client.insert(self.name(table), data, column_names=list(columns),
                           database=self.database, column_oriented=True)

    def _query(self, sql: str, **params: Any) -> Any:
        return self.client.query(sql, parameters=self._params | params)
