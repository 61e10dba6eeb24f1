"""Rebuilding the projections: replay every event into fresh tables, then swap them in.

The live tables keep serving while shadow copies (`<table>_rebuild`, same columns, engines
and keys) are filled from the start of the event feed by a fresh consumer. When the replay
has caught up, the live consumer of this process (if any) is held for a moment: the replay
catches up once more, one EXCHANGE TABLES statement swaps every table with its shadow, and
the live consumer drops its cache so its next batch reads state from the new tables. Events
it receives again are skipped by their versions; none are lost. A consumer in another
process notices the swap (its generation changed) and resubscribes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from consumers.framework import EventFeed, Subscription
from projections import bulk, schema
from projections.consumer import DEFAULT_NAME, ProjectionConsumer
from projections.tables import Tables

SUFFIX = "_rebuild"


@dataclass(frozen=True)
class RebuildProgress:
    events: int
    position: int
    seconds: float


@dataclass(frozen=True)
class RebuildReport:
    events: int
    position: int
    seconds: float
    swap_ms: float

    def to_json(self) -> dict[str, Any]:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        return {
            "events": self.events,
            "position": self.position,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(rate),
            "swap_ms": round(self.swap_ms, 1),
            "tables": list(schema.PROJECTION_TABLES),
        }


ProgressCallback = Callable[[RebuildProgress], None]


def every(seconds: float, show: Callable[[RebuildProgress], None]) -> ProgressCallback:
    """A progress callback that shows at most one report per `seconds`."""
    last = [float("-inf")]

    def callback(progress: RebuildProgress) -> None:
        if progress.seconds - last[0] >= seconds:
            last[0] = progress.seconds
            show(progress)

    return callback


def progress_fields(progress: RebuildProgress, head: int | None = None) -> dict[str, Any]:
    """What a progress report says, as fields of a log record: events applied, position
    reached, rate, and, when the head the replay runs to is known, percent done and eta."""
    rate = progress.events / progress.seconds if progress.seconds > 0 else 0.0
    fields: dict[str, Any] = {"events": progress.events, "position": progress.position,
                              "events_per_second": round(rate)}
    if head:
        fields["head"] = head
        fields["percent"] = round(min(100.0, 100.0 * progress.position / head), 1)
        fields["eta_seconds"] = eta_seconds(progress, head)
    return fields


def eta_seconds(progress: RebuildProgress, head: int) -> float | None:
    """Seconds left at the pace so far (positions per second), None before any pace."""
    if progress.position <= 0 or progress.seconds <= 0:
        return None
    left = max(0, head - progress.position)
    return round(left * progress.seconds / progress.position, 1)


def describe(progress: RebuildProgress, head: int | None = None) -> str:
    fields = progress_fields(progress, head)
    where = f"position {progress.position}"
    if head:
        eta = fields["eta_seconds"]
        where += f" of {head} ({fields['percent']:.0f}%)"
    text = f"replayed {progress.events} events, {where}, {fields['events_per_second']:,} events/s"
    if head and eta is not None:
        text += f", eta {eta:.0f} s"
    return text


def logged(logger: logging.Logger, head: int | None = None,
           seconds: float = 2.0) -> ProgressCallback:
    """A progress callback that logs a report (text and fields) at most once per `seconds`."""
    return every(seconds, lambda p: logger.info("rebuild: %s", describe(p, head),
                                                extra=progress_fields(p, head)))


def log_report(logger: logging.Logger, report: RebuildReport) -> None:
    fields = report.to_json()
    logger.info("rebuild: done, %s events up to position %s in %s s (%s events/s)",
                fields["events"], fields["position"], fields["seconds"],
                fields["events_per_second"], extra=fields)


class Rebuilder:
    def __init__(self, client: Client, database: str, *, name: str = DEFAULT_NAME,
                 live: ProjectionConsumer | None = None, poll_timeout: float = 0.05) -> None:
        self.client = client
        self.database = schema.check_identifier(database)
        self.name = name
        self.live = live
        self.poll_timeout = poll_timeout

    def run(self, feed: EventFeed, progress: ProgressCallback | None = None,
            raw: bulk.RawEventSource | None = None) -> RebuildReport:
        """Replay `feed` into the shadows and swap them in. With `raw`, the same events
        undecoded, everything stored when the rebuild starts is computed inside ClickHouse
        first (`projections.bulk`), and `feed` replays only what was stored since."""
        started = time.monotonic()
        schema.create_shadows(self.client, self.database, SUFFIX)
        try:
            tables = Tables(self.client, self.database, SUFFIX)
            loaded = bulk.BulkReport(0, 0)
            if raw is not None and raw.encoding == bulk.ENCODING:
                loaded = bulk.load(tables, raw, self.name, _bulk_progress(started, progress))
            shadow = ProjectionConsumer(tables, name=self.name)
            subscription = feed.subscribe(f"{self.name}-rebuild", shadow.resume_position())
            try:
                replay = _Replay(shadow, subscription, started, progress)
                replay.events, replay.position = loaded.events, loaded.position
                replay.until_caught_up(self.poll_timeout)
                swap_started = time.monotonic()
                with self.live.paused() if self.live else nullcontext():
                    replay.until_caught_up(self.poll_timeout)
                    schema.exchange(self.client, self.database, SUFFIX)
                    if self.live:
                        self.live.reset()
                swap_ms = (time.monotonic() - swap_started) * 1000
            finally:
                subscription.close()
        finally:
            schema.drop_shadows(self.client, self.database, SUFFIX)
        return RebuildReport(replay.events, replay.position, time.monotonic() - started, swap_ms)


def _bulk_progress(started: float,
                   progress: ProgressCallback | None) -> bulk.ProgressCallback | None:
    if progress is None:
        return None
    return lambda events, position: progress(
        RebuildProgress(events, position, time.monotonic() - started))


class _Replay:
    def __init__(self, consumer: ProjectionConsumer, subscription: Subscription,
                 started: float, progress: ProgressCallback | None) -> None:
        self.consumer = consumer
        self.subscription = subscription
        self.started = started
        self.progress = progress
        self.events = 0
        self.position = 0

    def until_caught_up(self, poll_timeout: float) -> None:
        while batch := self.subscription.poll(poll_timeout):
            self.consumer.apply(batch)
            self.subscription.commit()
            self.events += len(batch)
            self.position = max(self.position, batch[-1].position)
            if self.progress is not None:
                elapsed = time.monotonic() - self.started
                self.progress(RebuildProgress(self.events, self.position, elapsed))
