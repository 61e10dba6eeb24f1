"""`recaudit retention run`: delete the audio of recordings past their retention.

With `--url` the running server runs the sweep (`POST /admin/retention/run`, for `org=*`
admin tokens; `--by` must then be the token's name). Without it the sweep runs here on the
data directory, which works only while no server holds the embedded stores. `--dry-run`
lists what would be deleted and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from recaudit.cli import remote
from recaudit.cli.exits import ExitCode
from recaudit.settings import Settings

COMMANDS = ("retention",)


def add_commands(sub: Any) -> None:
    retention = sub.add_parser("retention", help="delete audio past retention (not held)")
    actions = retention.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="run the retention sweep once")
    run.add_argument("--url", help="ask this running server to run it")
    run.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    run.add_argument("--by", default="admin",
                     help="who the deletions are recorded as (with --url and access control: "
                          "the token's name)")
    run.add_argument("--data-dir", type=Path)
    remote.add_token_option(run)


def run(args: argparse.Namespace) -> int:
    document = _remote(args) if args.url else _local(args)
    if isinstance(document, int):
        return document
    _print(document)
    return ExitCode.OK


def _local(args: argparse.Namespace) -> dict[str, Any] | int:
    from projections.errors import EngineLocked
    from recaudit.bootstrap import build
    from recaudit.http.lifecycle import report_json

    try:
        backend = build(Settings.from_env(data_dir=args.data_dir))
    except EngineLocked as exc:
        return _fail(f"{exc}. While a server runs, ask it instead: recaudit retention run "
                     "--url http://127.0.0.1:8080", ExitCode.PROJECTION)
    try:
        backend.start()
        # The candidates come from the projections, the deletions are carried out by the
        # segment consumer: both first catch up with the store.
        if not _caught_up(backend, backend.store.head()):
            return _fail("the consumers did not catch up with the event store within "
                         f"{CATCH_UP_S:g} s; nothing was deleted", ExitCode.FAILED)
        assert backend.compliance is not None and backend.projections is not None
        report = backend.compliance.run_retention(
            by=args.by, candidates=backend.projections.reader, dry_run=args.dry_run)
        if not _caught_up(backend, backend.store.head()):
            return _fail("the deletions are recorded, but the segment store has not removed "
                         "all the audio yet; it will when the backend next runs",
                         ExitCode.FAILED)
        return report_json(report)
    finally:
        backend.close()


CATCH_UP_S = 120.0


def _caught_up(backend: Any, head: int) -> bool:
    import time

    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        if backend.segments.position() >= head and \
                backend.projections.reader.applied_position() >= head:
            return True
        time.sleep(0.05)
    return False


def _remote(args: argparse.Namespace) -> dict[str, Any] | int:
    import httpx

    url = args.url.rstrip("/")
    try:
        response = httpx.post(f"{url}/admin/retention/run",
                              json={"by": args.by, "dry_run": args.dry_run},
                              headers=remote.auth_headers(args), timeout=600)
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach {args.url}: {exc} (is `recaudit serve` running?)",
                     ExitCode.USAGE)
    try:
        body = response.json()
    except ValueError:
        return _fail(f"{args.url} answered {response.status_code} with something that is "
                     f"not JSON: {response.text[:200]!r}", ExitCode.FAILED)
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        return _fail(f"the server refused: {response.status_code} "
                     f"{error.get('code', 'error')}: {error.get('message', '')}",
                     ExitCode.FAILED)
    document: dict[str, Any] = body
    return document


def _print(document: dict[str, Any]) -> None:
    verb = "would delete" if document["dry_run"] else "deleted"
    print(f"retention: {document['checked']} recordings past retention checked; "
          f"{verb} {len(document['deleted'])}, kept {len(document['kept_for_hold'])} "
          f"for legal hold, {len(document.get('pending', []))} left for the next run")
    for label, key in ((verb, "deleted"), ("kept (legal hold)", "kept_for_hold"),
                       ("pending", "pending")):
        for item in document.get(key, []):
            print(f"  {label}: call {item['call_id']} recording {item['recording_no']}")


def _fail(message: str, code: int) -> int:
    print(f"recaudit: {message}", file=sys.stderr)
    return code
