"""No SQL is built from values: every interpolation into SQL text is a checked identifier.

Scans the application's sources for f-strings that read like SQL and lists what they
interpolate. Values must be bound as parameters (`?`, `%s`, `{name:Type}`); the few
interpolations allowed below are table and column names that are module constants or pass
an identifier check first. A new interpolation fails this test until it is reviewed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "recaudit", "consumers", "projections")
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|EXCHANGE|LOCK TABLE|ALTER|"
                 r"TRUNCATE|WHERE|VALUES)\b")

# (file, interpolated expression): why it is safe.
REVIEWED = {
    ("recaudit/adapters/eventstore/sqlite.py", "recorder.events_table_name"):
        "the library's table name",
    ("recaudit/adapters/integrity/database.py", "LINKS"): "module constant",
    ("recaudit/adapters/integrity/database.py", "RECORDINGS"): "module constant",
    ("recaudit/adapters/integrity/database.py", "LINK_COLUMNS"): "module constant",
    ("recaudit/adapters/integrity/database.py", "SEAL_COLUMNS"): "module constant",
    ("recaudit/adapters/integrity/database.py", "integer"): "a column type chosen by the adapter",
    ("recaudit/adapters/integrity/database.py", "pos"): "the adapter's position column constant",
    ("recaudit/adapters/integrity/database.py", "self.events_table"): "the table constant",
    ("recaudit/adapters/integrity/database.py", "marks"): "a run of ? placeholders",
    ("recaudit/adapters/integrity/postgres_db.py", "SCHEMA"): "module constant",
    ("recaudit/adapters/integrity/postgres_db.py", "table"): "LINKS or RECORDINGS",
    ("projections/schema.py", "quoted(database, table + suffix)"): "identifier-checked",
    ("projections/schema.py", "quoted(database, table)"): "identifier-checked",
    ("projections/schema.py", "pairs"): "identifier-checked names",
    ("projections/schema.py", "table"): "a name from the literal tuple beside it",
    ("projections/schema.py", "EVENTS_NEXT"): "a literal table name",
    ("projections/schema.py", "COPIED_COLUMNS"): "literal column names, backquoted",
    ("consumers/call_states.py", "column"): "a name from the literal PAUSE_COLUMNS tuple",
    ("projections/queries.py", "where"):
        "conditions from the literal CALL_CONDITIONS, their values bound as parameters",
    # The bulk rebuild's statements are generated from the contract's constants; no value
    # read from the store or a request is ever part of their text.
    ("projections/bulk.py", "', '.join(columns)"):
        "column expressions from FIELD_TYPES, TIME_FIELDS and domain.published.FIELDS",
    ("projections/bulk.py", "parsed"): "the Tuple type text from FIELD_TYPES",
    ("projections/bulk.py", "typed"): "column definitions from FIELD_TYPES",
    ("projections/bulk.py", "OPENERS"): "module constant SQL",
    ("projections/bulk.py", "STATE_OF"): "module constant SQL",
    ("projections/bulk.py", "_array(MOVERS)"): "quoted domain constants",
    ("projections/bulk.py", "_array(access)"): "quoted domain constants",
    ("projections/bulk.py", "_array(policy)"): "quoted domain constants",
    ("projections/bulk.py", "_array(sorted(STARTS_OFF))"): "quoted domain constants",
    ("projections/bulk.py", "_array(topics)"): "quoted domain constants",
    ("projections/bulk.py", "_array(types)"): "quoted domain constants",
    ("projections/bulk.py", "_quote(NOT_STARTED)"): "a quoted domain constant",
    ("projections/bulk.py", "_quote(STOPPED)"): "a quoted domain constant",
    ("projections/bulk.py", "_quote(SYSTEM)"): "a quoted domain constant",
    ("projections/bulk.py", "_millis('s.timestamp._data_')"): "an expression of a literal",
    ("projections/bulk.py", "_names(CALL_COLUMNS)"): "backquoted column constants",
    ("projections/bulk.py", "_names(EVENT_COLUMNS)"): "backquoted column constants",
    ("projections/bulk.py", "_names(INTERVAL_COLUMNS)"): "backquoted column constants",
    ("projections/bulk.py", "interval"): "a literal tuple expression",
    ("projections/bulk.py", "into"): "the INSERT head, from EVENT_COLUMNS",
    ("projections/bulk.py", "plain"): "column expressions from EVENT_COLUMNS",
    ("projections/bulk.py", "selected"): "column expressions from EVENT_COLUMNS",
    ("projections/bulk.py", "schema.quoted(database, table)"): "identifier-checked",
}


def interpolations() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.JoinedStr):
                    continue
                text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
                if not SQL.search(text) or not re.search(r"\b(FROM|INTO|TABLE|TABLES|ON)\b",
                                                          text):
                    continue
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        expression = ast.get_source_segment(source, value.value) or "?"
                        found.add((str(path.relative_to(ROOT)), expression))
    return found


def test_sql_interpolates_only_reviewed_identifiers() -> None:
    found = interpolations()
    assert found, "the scan found no SQL at all: is it still looking in the right places?"
    unreviewed = sorted(found - set(REVIEWED))
    assert not unreviewed, f"SQL built with unreviewed interpolations: {unreviewed}"
