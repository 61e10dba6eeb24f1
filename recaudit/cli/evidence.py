"""`recaudit export` and `recaudit verify-bundle`: a call's evidence bundle, written and
checked.

export writes the bundle from a running server (`--url`, which records the download in
the call's access log) or straight from the configured store (exit 0 written, 1 refused
by the server or no such call, 2 usage or unreachable). verify-bundle needs nothing but
the bundle and, preferably, the public key: exit 0 clean, 1 with findings (one line
each), 2 when it cannot run (no such file, not a zip, a bad key file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from recaudit.cli import remote
from recaudit.cli.exits import ExitCode

COMMANDS = ("export", "verify-bundle")


def add_commands(sub: Any) -> None:
    export = sub.add_parser("export", help="write a call's evidence bundle (a zip)")
    export.add_argument("call_id")
    export.add_argument("--out", type=Path, required=True, help="the zip file to write")
    export.add_argument("--url", help="a running server to download it from (default: "
                        "build it from the data directory's store)")
    export.add_argument("--data-dir", type=Path)
    remote.add_token_option(export)
    check = sub.add_parser("verify-bundle", help="check an evidence bundle offline "
                           "(exit 1 on any finding)")
    check.add_argument("bundle", type=Path)
    check.add_argument("--public-key", type=Path,
                       help="the server's public key (PEM); default: the one in the bundle")
    check.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from domain.errors import UnknownCall
    from recaudit.adapters.integrity.errors import ChainError
    from recaudit.settings import SettingsError

    try:
        return _export(args) if args.command == "export" else _verify_bundle(args)
    except ChainError as exc:
        _say(args.command, str(exc))
        return ExitCode.USAGE
    except UnknownCall as exc:
        _say(args.command, f"no such call: {exc}")
        return ExitCode.FAILED
    except SettingsError:
        raise
    except Exception:
        # Exit status 1 means "findings": a crash must never be read as one.
        traceback.print_exc()
        _say(args.command, "failed unexpectedly (above)")
        return ExitCode.USAGE


def _export(args: argparse.Namespace) -> int:
    if args.url:
        data = _download(args.url, args.call_id, remote.auth_headers(args), args.command)
        if isinstance(data, int):
            return data
    else:
        data = _build(args)
    _write(args.out, data)
    print(f"recaudit export: wrote the evidence bundle of call {args.call_id} to {args.out} "
          f"({len(data)} bytes)")
    return ExitCode.OK


def _build(args: argparse.Namespace) -> bytes:
    from recaudit.bootstrap import event_store
    from recaudit.bootstrap.evidence import bundles, signing_key
    from recaudit.bootstrap.integrity import integrity_sealer, open_database, recording_files
    from recaudit.settings import Settings

    settings = Settings.from_env(data_dir=args.data_dir)
    open_database(settings, read_only=True).close()  # no event store there: say so, make none
    key = signing_key(settings)
    store = event_store(settings)
    sealer = integrity_sealer(settings)
    try:
        return bundles(settings, store, recording_files(settings), sealer.seal_once,
                       key)(args.call_id)
    finally:
        sealer.close()
        store.close()


def _download(url: str, call_id: str, headers: dict[str, str], command: str) -> bytes | int:
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/calls/{call_id}/evidence", headers=headers,
                             timeout=httpx.Timeout(10.0, read=300.0))
    except httpx.HTTPError as exc:
        _say(command, f"cannot reach {url}: {exc}")
        return ExitCode.USAGE
    if response.status_code != 200:
        try:
            error = response.json().get("error", {})
        except (ValueError, AttributeError):
            error = {}
        _say(command, f"{response.status_code} {error.get('code', 'error')}: "
             f"{error.get('message', response.text[:200])}")
        return ExitCode.FAILED
    return response.content


def _write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def _verify_bundle(args: argparse.Namespace) -> int:
    from recaudit.adapters.integrity.bundle.check import check_bundle
    from recaudit.adapters.integrity.errors import BundleUnreadable
    from recaudit.adapters.integrity.signing import read_public_key

    key = read_public_key(args.public_key) if args.public_key else None
    try:
        data = args.bundle.read_bytes()
    except OSError as exc:
        raise BundleUnreadable(f"cannot read {args.bundle}: {exc}") from exc
    report = check_bundle(data, key)
    if args.json:
        print(json.dumps({"clean": report.clean, "call_id": report.call_id,
                          "events": report.events, "recordings": report.recordings,
                          "deleted": report.deleted, "key_from_bundle": report.key_from_bundle,
                          "findings": [f.to_json() for f in report.findings]}, indent=2))
    else:
        for finding in report.findings:
            print(finding.line())
        print(f"recaudit verify-bundle: {report.summary()}")
    return ExitCode.OK if report.clean else ExitCode.FAILED


def _say(command: str, message: str) -> None:
    print(f"recaudit {command}: {message}", file=sys.stderr)
