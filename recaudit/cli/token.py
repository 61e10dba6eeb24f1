"""`recaudit token`: make an access token, print it once with its configuration line.

The token itself is printed on standard output only; the line to add to the tokens file
holds its SHA-256 hash, never the token.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from recaudit.access.errors import TokenConfigError
from recaudit.access.tokens import Principal, Role, check_principal, entry_line, new_token
from recaudit.cli.exits import ExitCode

COMMANDS = ("token",)


def add_commands(sub: Any) -> None:
    token = sub.add_parser("token", help="make an access token and print the line that "
                           "configures it (the server keeps only its hash)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--org", required=True,
                       help="the organisation id, or * for every one (auditor, admin, media)")
    token.add_argument("--agent", help="the agent id (agent tokens only)")
    token.add_argument("--name", required=True,
                       help="who holds it: recorded as the actor of every command")
    token.add_argument("--add-to", type=Path, metavar="FILE",
                       help="also append the configuration line to this tokens file "
                       "(created, readable by its owner only, if missing)")


def run(args: argparse.Namespace) -> int:
    principal = Principal(args.name, Role(args.role), args.org, args.agent)
    try:
        check_principal(principal, "token")
    except TokenConfigError as exc:
        print(f"recaudit: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    token = new_token()
    line = entry_line(token, principal)
    if args.add_to is not None:
        try:
            _append(args.add_to, line)
        except OSError as exc:
            print(f"recaudit: cannot add the token to {args.add_to}: {exc.strerror}",
                  file=sys.stderr)
            return ExitCode.USAGE
    print(f"token for {principal.describe()} (shown once; give it to its holder):")
    print(f"  {token}")
    if args.add_to is not None:
        print(f"its line was added to {args.add_to}:")
    else:
        print("add this line to the tokens file (RECAUDIT_TOKENS_FILE) or to RECAUDIT_TOKENS:")
    print(f"  {line}")
    return ExitCode.OK


def _append(path: Path, line: str) -> None:
    """Append `line` to the tokens file, on a line of its own."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as out:
        if out.tell() > 0 and not path.read_bytes().endswith(b"\n"):
            out.write("\n")
        out.write(line + "\n")
