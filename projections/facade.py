"""The projections of one ClickHouse database, as the composition root sees them.

Nothing is opened until it is needed (a process that only relays or runs another consumer
never touches ClickHouse, so it never takes the embedded engine's lock); the first use
connects and applies the migrations. With the embedded engine, the consumer's writes and
the API's reads go through two clients of the same engine, so a batch being written does
not hold up a timeline read; a client passed in (tests share one per process) serves both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from consumers.framework import EventFeed
from projections import engine, schema
from projections.bulk import RawEventSource
from projections.consumer import DEFAULT_NAME, Progress, ProjectionConsumer
from projections.reader import ClickHouseTimelineReader
from projections.rebuild import ProgressCallback, Rebuilder, RebuildReport, log_report, logged
from projections.tables import Tables
from recaudit.core.readmodel import ProjectionUnavailable, RebuildInProgress, StoredLog

log = logging.getLogger(__name__)


class Projections:
    def __init__(self, dsn: str, database: str, *, client: Client | None = None,
                 name: str = DEFAULT_NAME, linger: float = 0.0,
                 store: StoredLog | None = None) -> None:
        """`store`: the event store the timeline reader checks `min_position` against."""
        self.target = engine.parse(dsn)
        self.linger = linger
        self.database = schema.check_identifier(database)
        self.name = name
        self.progress = Progress()
        self.reader = ClickHouseTimelineReader(self.read_client, database,
                                               progress=self.progress, store=store)
        self._given = client
        self._owned: list[Client] = []
        self._writer: Client | None = None
        self._reads: Client | None = None
        self._consumer: ProjectionConsumer | None = None
        self._lock = threading.Lock()
        self._rebuilding = threading.Lock()

    def describe(self) -> str:
        return f"{self.target.describe()}, database {self.database}"

    def write_client(self) -> Client:
        with self._lock:
            if self._writer is None:
                self._writer = self._connect()
                schema.migrate(self._writer, self.database)
            return self._writer

    def read_client(self) -> Client:
        writer = self.write_client()  # connects and migrates first
        with self._lock:
            if self._reads is None:
                self._reads = writer if self._given is not None else self._connect()
            return self._reads

    def consumer(self) -> ProjectionConsumer:
        """The live consumer (one per process), for the pipeline."""
        client = self.write_client()
        with self._lock:
            if self._consumer is None:
                self._consumer = ProjectionConsumer(Tables(client, self.database),
                                                    name=self.name, progress=self.progress,
                                                    linger=self.linger)
            return self._consumer

    def rebuild(self, feed: EventFeed, progress: ProgressCallback | None = None,
                raw: RawEventSource | None = None) -> RebuildReport:
        """Replay `feed` into fresh tables and swap them in; one rebuild at a time. `raw`:
        the same events undecoded, computed inside ClickHouse first (see `Rebuilder.run`)."""
        with self.rebuilding():
            rebuilder = Rebuilder(self.write_client(), self.database, name=self.name,
                                  live=self._consumer)
            try:
                report = rebuilder.run(feed, progress, raw)
            except ClickHouseError as exc:
                raise ProjectionUnavailable(
                    f"the rebuild failed, the old tables stay: {exc}") from exc
        self.progress.advance(report.position)
        return report

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Held while a rebuild runs; a second one is refused rather than queued."""
        if not self._rebuilding.acquire(blocking=False):
            raise RebuildInProgress("a rebuild of the projections is already running")
        try:
            yield
        finally:
            self._rebuilding.release()

    def rebuild_logged(self, feed: EventFeed, head: int | None = None,
                       raw: RawEventSource | None = None) -> dict[str, Any]:
        """A rebuild for the admin endpoint: progress (towards `head`, the feed's last
        position, if known) goes to the log, the report is returned."""
        report = self.rebuild(feed, logged(log, head), raw)
        log_report(log, report)
        return report.to_json()

    def close(self) -> None:
        with self._lock:
            for client in self._owned:
                engine.close_quietly(client)
            self._owned.clear()
            self._writer = self._reads = None
            self._consumer = None

    def _connect(self) -> Client:
        if self._given is not None:
            return self._given
        client = engine.connect(self.target.dsn)
        self._owned.append(client)
        return client
