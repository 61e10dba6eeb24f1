"""`recaudit verify` and `recaudit seal`.

verify exits 0 when the store is clean, 1 when anything is found (one line per
finding), 2 when it cannot run (no event store, an unreadable head file, a
database that does not answer).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from recaudit.cli.exits import ExitCode

COMMANDS = ("verify", "seal")
CLEAN, FOUND, CANNOT_RUN = ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE


def add_commands(sub: Any) -> None:
    """Add the integrity subcommands to the `recaudit` parser's subparsers."""
    verify = sub.add_parser("verify", help="check the events and recordings against their "
                            "hash chains (exit 1 on any finding)")
    verify.add_argument("--data-dir", type=Path)
    verify.add_argument("--head", type=Path,
                        help="a head exported earlier: the chain must still lead to it")
    verify.add_argument("--export-head", type=Path,
                        help="write the verified head to this file (only when clean)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--no-audio", action="store_true",
                        help="check the events only, not the recordings")
    seal = sub.add_parser("seal", help="extend the hash chains over new events and "
                          "finished recordings, once, and print the head")
    seal.add_argument("--data-dir", type=Path)
    seal.add_argument("--export-head", type=Path, help="also write the head to this file")


def run(args: argparse.Namespace) -> int:
    from recaudit.adapters.integrity.errors import ChainError
    from recaudit.settings import SettingsError

    try:
        return _verify(args) if args.command == "verify" else _seal(args)
    except ChainError as exc:
        print(f"recaudit {args.command}: {exc}", file=sys.stderr)
        return CANNOT_RUN
    except SettingsError:
        raise  # reported by the main command line like every configuration error
    except Exception:
        # Exit status 1 means "findings": a crash must never be read as one.
        traceback.print_exc()
        print(f"recaudit {args.command}: failed unexpectedly (above); nothing was verified",
              file=sys.stderr)
        return CANNOT_RUN


def _verify(args: argparse.Namespace) -> int:
    from recaudit.adapters.integrity.head import read_head, write_head
    from recaudit.adapters.integrity.verify import verify
    from recaudit.bootstrap.integrity import open_database, recording_files
    from recaudit.settings import Settings

    settings = Settings.from_env(data_dir=args.data_dir)
    exported = read_head(args.head) if args.head else None
    db = open_database(settings, read_only=True)
    try:
        report = verify(db, None if args.no_audio else recording_files(settings), exported)
    finally:
        db.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for finding in report.findings:
            print(finding.line())
        print(f"recaudit verify: {report.summary()}")
        for deleted in report.deleted:  # not findings: deleted with a record
            print(deleted.line())
    if args.export_head:
        if not report.clean:
            print("recaudit verify: the head was not exported (the chain has findings)",
                  file=sys.stderr)
        else:
            write_head(report.head, args.export_head)
    return CLEAN if report.clean else FOUND


def _seal(args: argparse.Namespace) -> int:
    from recaudit.adapters.integrity.head import write_head
    from recaudit.bootstrap.integrity import integrity_sealer
    from recaudit.settings import Settings

    settings = Settings.from_env(data_dir=args.data_dir)
    sealer = integrity_sealer(settings)
    try:
        summary = sealer.seal_once()
    finally:
        sealer.close()
    print(f"recaudit seal: sealed {summary.events} events and {summary.recordings} "
          "recordings; the head is:")
    print(summary.head.to_json(), end="")
    if args.export_head:
        write_head(summary.head, args.export_head)
    return CLEAN
