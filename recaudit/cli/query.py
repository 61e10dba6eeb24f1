"""`recaudit query NAME`: run one of the documented analyst queries and print its rows.

With `--url` the running server runs it (`GET /analytics/NAME`, for `org=*` auditor and
admin tokens). Without it the query runs here on the data directory's embedded
ClickHouse, which works only while no server holds that store: the embedded engine can be
open in one process at a time, so this command then refuses and says to use `--url`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from projections.queries import ANALYST_BY_NAME, ANALYST_QUERIES
from recaudit.cli import remote
from recaudit.settings import Settings

COMMANDS = ("query",)
FORMATS = ("table", "csv", "json")


def add_commands(sub: Any) -> None:
    query = sub.add_parser(
        "query", help="run one of the documented analyst queries",
        description="Queries: " + "; ".join(q.describe() for q in ANALYST_QUERIES))
    query.add_argument("name", choices=[q.name for q in ANALYST_QUERIES])
    query.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter of the query (repeat for each)")
    query.add_argument("--url", help="ask this running server (needed while one holds the "
                                     "embedded ClickHouse store)")
    query.add_argument("--format", choices=FORMATS, default="table")
    query.add_argument("--data-dir", type=Path)
    remote.add_token_option(query)


def run(args: argparse.Namespace) -> int:
    given: dict[str, str] = {}
    for pair in args.param:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            return _fail(f"--param takes NAME=VALUE, not {pair!r}", 2)
        given[name] = value
    document = _remote(args, given) if args.url else _local(args, given)
    if isinstance(document, int):
        return document
    _print(document, args.format)
    return 0


def _local(args: argparse.Namespace, given: dict[str, str]) -> dict[str, Any] | int:
    from pydantic import ValidationError

    from projections.errors import EngineLocked
    from projections.facade import Projections
    from recaudit.core.readmodel import ReadModelError
    from recaudit.http.analytics import parameters, result

    try:
        params = parameters(args.name, given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}"
                             for e in exc.errors())
        return _fail(f"invalid parameters for {args.name}: {problems}", 1)
    settings = Settings.from_env(data_dir=args.data_dir)
    projections = Projections(settings.clickhouse_url(), settings.clickhouse_database)
    try:
        projections.write_client()
    except EngineLocked as exc:
        return _fail(f"{exc}. The embedded engine can be open in one process only: ask the "
                     f"server instead, e.g. recaudit query {args.name} --url "
                     "http://127.0.0.1:8080", 3)
    try:
        return result(ANALYST_BY_NAME[args.name], params, projections.reader)
    except ReadModelError as exc:
        return _fail(str(exc), 3)
    finally:
        projections.close()


def _remote(args: argparse.Namespace, given: dict[str, str]) -> dict[str, Any] | int:
    import httpx

    url = args.url.rstrip("/")
    try:
        response = httpx.get(f"{url}/analytics/{args.name}", params=given,
                             headers=remote.auth_headers(args), timeout=60)
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach {args.url}: {exc} (is `recaudit serve` running?)", 2)
    try:
        body = response.json()
    except ValueError:
        return _fail(f"{args.url} answered {response.status_code} with something that is "
                     f"not JSON: {response.text[:200]!r}", 1)
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        return _fail(f"{response.status_code} {error.get('code', 'error')}: "
                     f"{error.get('message', response.text[:200])}", 1)
    document: dict[str, Any] = body
    return document


def _print(document: dict[str, Any], form: str) -> None:
    if form == "json":
        print(json.dumps(document, indent=2))
        return
    columns, rows = document["columns"], document["rows"]
    if form == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(row.get(c)) for c in columns] for row in rows])
        return
    if not rows:
        print(f"{document['title']}: no rows")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _fail(message: str, code: int) -> int:
    print(f"recaudit: {message}", file=sys.stderr)
    return code
