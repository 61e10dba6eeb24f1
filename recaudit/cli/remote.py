"""Reaching a running server from the command line: its address and an access token.

The token comes from `--token` or, better (a flag shows in the process list), from
`RECAUDIT_TOKEN`; it is sent as `Authorization: Bearer`, and never printed or logged.
"""

from __future__ import annotations

import argparse
import os

TOKEN_VARIABLE = "RECAUDIT_TOKEN"


def add_token_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token", default=None,
        help=f"access token for a server with access control (default: ${TOKEN_VARIABLE})")


def auth_headers(args: argparse.Namespace) -> dict[str, str]:
    """The request headers that carry the token, if one is given."""
    token = args.token or os.environ.get(TOKEN_VARIABLE, "")
    token = token.strip()
    return {"Authorization": f"Bearer {token}"} if token else {}
