"""Opening ClickHouse from a DSN: the embedded engine (chdb://) or a server (http://).

One code path: both give a clickhouse-connect `Client`. The embedded engine has two limits
the rest of the code must respect: one process per data path (a second process fails while
the first holds the path's lock file) and one path per process (clients on the same path share
the engine; another path is refused until every client of the first is closed).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from projections.errors import EngineBusy, EngineLocked, InvalidDsn

MEMORY = "memory"


@dataclass(frozen=True)
class Target:
    """Where a DSN points: an embedded path (or MEMORY), or a server."""

    dsn: str
    embedded_path: str | None

    @property
    def embedded(self) -> bool:
        return self.embedded_path is not None

    def describe(self) -> str:
        if self.embedded_path is not None:
            return f"embedded ClickHouse at {self.embedded_path}"
        parts = urlsplit(self.dsn)
        return f"ClickHouse server at {parts.scheme}://{parts.hostname}:{parts.port or ''}"


def parse(dsn: str) -> Target:
    parts = urlsplit(dsn)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise InvalidDsn(f"a ClickHouse server DSN needs a host: {parts.scheme}://HOST:8123")
        return Target(dsn, None)
    if parts.scheme != "chdb":
        raise InvalidDsn(f"unsupported ClickHouse DSN scheme {parts.scheme!r} (chdb or http)")
    if parts.netloc in (MEMORY, ":memory:"):
        return Target(f"chdb://{MEMORY}", MEMORY)
    if parts.netloc or not parts.path.startswith("/"):
        raise InvalidDsn("an embedded ClickHouse DSN needs an absolute path: chdb:///abs/path")
    return Target(dsn, os.path.realpath(parts.path))


def connect(dsn: str) -> Client:
    """A new client for `dsn`; embedded clients of one path share the process's engine."""
    target = parse(dsn)
    if target.embedded_path is None:
        return clickhouse_connect.get_client(dsn=dsn)
    if target.embedded_path != MEMORY:
        Path(target.embedded_path).mkdir(parents=True, exist_ok=True)
        _refuse_if_locked(target.embedded_path)
    try:
        return clickhouse_connect.get_client(dsn=target.dsn)
    except ClickHouseError as exc:
        raise _engine_error(target.embedded_path, exc) from exc


def _engine_error(path: str, exc: Exception) -> Exception:
    message = str(exc)
    if "already initialized with path" in message:
        return EngineBusy(
            f"this process already runs the embedded ClickHouse engine on another path, so it "
            f"cannot open {path} (one engine path per process): {message}"
        )
    if "EmbeddedServer" in message:
        return EngineLocked(path, _holder(path))
    return exc


def _refuse_if_locked(path: str) -> None:
    """The engine holds an exclusive lock on `status` while it runs: probe it first.

    Probing avoids the engine's own noisy failure; a lock held by this very process
    (another client on the same path) is fine, since its clients share the engine.
    """
    status = Path(path) / "status"
    holder = _holder(path)
    if holder is None or holder == str(os.getpid()):
        return
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise EngineLocked(path, holder) from None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(path: str) -> str | None:
    """The process id the engine wrote into its status file, if any."""
    with suppress(OSError):
        for line in (Path(path) / "status").read_text().splitlines():
            if line.startswith("PID:"):
                return line.split(":", 1)[1].strip()
    return None


def close_quietly(client: Any) -> None:
    with suppress(Exception):
        client.close()
