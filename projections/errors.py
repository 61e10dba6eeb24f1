"""Errors of the projections, one root, classified by what the caller should do."""

from __future__ import annotations

from consumers.framework import FeedUnavailable


class ProjectionError(Exception):
    """Root of every error the projections raise on purpose."""


class InvalidDsn(ProjectionError):
    """The ClickHouse DSN cannot be used; fix the configuration."""


class EngineLocked(ProjectionError):
    """Another process holds the embedded ClickHouse store: stop it, or go through it."""

    def __init__(self, path: str, holder: str | None) -> None:
        who = f"process {holder}" if holder else "another process"
        super().__init__(
            f"the embedded ClickHouse store at {path} is in use by {who} "
            "(probably `recaudit serve`); only one process can open it at a time"
        )
        self.path = path
        self.holder = holder


class EngineBusy(ProjectionError):
    """This process already runs the embedded engine on another path (one per process)."""


class ProjectionsReplaced(ProjectionError, FeedUnavailable):
    """The tables were swapped under a running consumer (a rebuild elsewhere): resubscribe."""
