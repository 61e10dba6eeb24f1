"""`recaudit rebuild-projections`: rebuild the ClickHouse projections from the event store.

Run locally, it opens the event store and ClickHouse itself. The embedded engine can be
open in one process only, so while `recaudit serve` holds it this command refuses and says
how to go through the server instead (`--url`, i.e. POST /admin/projections/rebuild).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import httpx

from projections.errors import EngineLocked, ProjectionError
from projections.facade import Projections
from projections.rebuild import log_report
from recaudit.cli.exits import ExitCode
from recaudit.cli.progress import rebuild_progress
from recaudit.cli.remote import auth_headers
from recaudit.core.readmodel import ReadModelError
from recaudit.settings import Settings

log = logging.getLogger("recaudit.rebuild")

SERVER_HINT = (
    "  Stop the server first, or ask it to rebuild in-process:\n"
    "    recaudit rebuild-projections --url http://127.0.0.1:8080\n"
    "  (that is POST /admin/projections/rebuild on the running server)"
)


def rebuild_projections(args: argparse.Namespace) -> int:
    if args.url:
        return _through_server(args.url, auth_headers(args))
    settings = Settings.from_env(data_dir=args.data_dir)
    events_file = settings.data_dir / "events.sqlite"
    if settings.postgres_url is None and not events_file.exists():
        _say(f"no event store at {events_file}; nothing to rebuild (is --data-dir right?)")
        return ExitCode.USAGE
    projections = Projections(settings.clickhouse_url(), settings.clickhouse_database)
    try:
        projections.write_client()
    except EngineLocked as exc:
        _say(f"{exc}.\n{SERVER_HINT}")
        return ExitCode.PROJECTION
    except ProjectionError as exc:
        _say(f"cannot open ClickHouse: {exc}")
        return ExitCode.USAGE
    try:
        return _rebuild_here(settings, projections)
    finally:
        projections.close()


def _rebuild_here(settings: Settings, projections: Projections) -> int:
    from recaudit.adapters.localfeed import LocalFeed
    from recaudit.bootstrap import REBUILD_BATCH, event_store

    store = event_store(settings)
    try:
        head = store.head()
        print(f"recaudit: rebuilding the projections in {projections.describe()} "
              f"from the event store (head position {head})", flush=True)
        progress, bar = rebuild_progress(sys.stderr, head, log)
        try:
            feed = LocalFeed(store, batch_size=REBUILD_BATCH)
            report = projections.rebuild(feed, progress, raw=feed)
        finally:
            if bar is not None:
                bar.finish()
        log_report(log, report)
    except ReadModelError as exc:
        _say(str(exc))
        return ExitCode.FAILED
    finally:
        store.close()
    _print_report(report.to_json())
    return ExitCode.OK


def _through_server(url: str, headers: dict[str, str]) -> int:
    print(f"recaudit: asking {url} to rebuild its projections (progress is in its log)...",
          flush=True)
    try:
        response = httpx.post(f"{url.rstrip('/')}/admin/projections/rebuild",
                              headers=headers, timeout=httpx.Timeout(10.0, read=None))
    except httpx.HTTPError as exc:
        _say(f"cannot reach {url}: {exc}")
        return ExitCode.USAGE
    body = _json(response)
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        _say(f"{response.status_code} {error.get('code', 'error')}: "
             f"{error.get('message', response.text[:200])}")
        return ExitCode.FAILED
    _print_report(body)
    return ExitCode.OK


def _print_report(report: dict[str, Any]) -> None:
    print(f"recaudit: rebuilt {report['events']} events up to position {report['position']} "
          f"in {report['seconds']} s ({report['events_per_second']} events/s); "
          f"tables swapped in {report['swap_ms']} ms: {', '.join(report['tables'])}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _say(message: str) -> None:
    print(f"recaudit: {message}", file=sys.stderr)
