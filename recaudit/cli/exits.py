"""The exit codes of every `recaudit` command, in one place (docs/contract.md lists them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # verify found something; the server refused a request; a rebuild failed
    FAILED = 1
    # a usage or configuration error, input refused before anything ran, a server or
    # store that cannot be reached
    USAGE = 2
    # a ClickHouse projection error, e.g. the embedded engine held by another process
    PROJECTION = 3
    # `serve` cannot listen: the port is in use, or the address cannot be bound
    CANNOT_LISTEN = 4
