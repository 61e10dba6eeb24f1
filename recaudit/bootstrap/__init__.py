"""The one place where adapters are chosen and wired together."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from consumers.call_states import CallStatesConsumer
from consumers.framework import EventFeed
from consumers.pipeline import Pipeline
from consumers.segments import SegmentDesk
from domain.clock import Clock, system_clock
from projections.facade import Projections
from recaudit.access import load_tokens
from recaudit.adapters.eventstore import STREAM_INDEXES
from recaudit.adapters.integrity.recordings import AnnouncingStore, FinishedInbox, RecordingFiles
from recaudit.adapters.integrity.sealer import Sealer
from recaudit.adapters.integrity.signing import public_pem
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap.evidence import bundles, signing_key
from recaudit.bootstrap.integrity import integrity_sealer
from recaudit.bootstrap.lifecycle import RetentionSweeper, SegmentFiles
from recaudit.bootstrap.segments import recording_store, segment_consumer, segment_desk
from recaudit.core.committer import GroupCommitter
from recaudit.core.eventstore import EventStore
from recaudit.core.health import StoreHealth, postgres_probe
from recaudit.core.lifecycle import ComplianceService
from recaudit.core.scheduler import PauseScheduler
from recaudit.core.service import RecordingService
from recaudit.http.access import install as install_access
from recaudit.http.admin import admin_router
from recaudit.http.analytics import analytics_router
from recaudit.http.api import create_app
from recaudit.http.audio import install_audio_routes
from recaudit.http.console import SessionStore, install_console, refusal_page
from recaudit.http.evidence import evidence_router
from recaudit.http.lifecycle import lifecycle_router
from recaudit.http.listings import listings_router
from recaudit.http.reads import ReadLog
from recaudit.settings import Settings

if TYPE_CHECKING:
    from recaudit.adapters.kafka.relay import Relay


# Every background part a backend may run (`Backend.background_parts` names the ones a
# given backend has: the relay only with Kafka).
BACKGROUND_PARTS = ("call-states", "projections", "segments", "relay", "sealer", "retention",
                    "pause-scheduler")


@dataclass
class Backend:
    settings: Settings
    store: EventStore
    committer: GroupCommitter
    service: RecordingService
    app: FastAPI
    pipeline: Pipeline
    relay: Relay | None = None
    _relay_thread: threading.Thread | None = None
    projections: Projections | None = None
    segments: SegmentDesk | None = None
    sealer: Sealer | None = None
    scheduler: PauseScheduler | None = None
    compliance: ComplianceService | None = None
    retention: RetentionSweeper | None = None
    sessions: SessionStore | None = None

    def start_relay(self) -> None:
        """Publish the event store to Kafka on a background thread (Kafka mode only)."""
        if self.relay is not None and self._relay_thread is None:
            self._relay_thread = threading.Thread(target=self.relay.run, name="relay",
                                                  daemon=True)
            self._relay_thread.start()

    def background_parts(self) -> list[str]:
        """The names of what `start` runs in the background: each consumer of the
        pipeline, then the relay, the sealer, the retention sweeper and the pause scheduler
        where this backend has them."""
        others = {"relay": self.relay, "sealer": self.sealer, "retention": self.retention,
                  "pause-scheduler": self.scheduler}
        return [*self.pipeline.factories, *(name for name, part in others.items()
                                            if part is not None)]

    def start(self, only: Collection[str] | None = None) -> None:
        """Everything `serve` runs besides the HTTP API.

        `only`: the background parts to run (names from `background_parts`), the others
        left stopped; for measuring what each part costs the API beside it. The store's
        health probe always runs: requests depend on it."""
        parts = self.background_parts()
        if only is not None and (unknown := sorted(set(only) - set(parts))):
            raise ValueError(f"no background part named {', '.join(unknown)} "
                             f"(known: {', '.join(parts)})")
        wanted = set(parts if only is None else only)
        self.service.health.start()
        if "relay" in wanted:
            self.start_relay()
        self.pipeline.start([name for name in self.pipeline.factories if name in wanted])
        if self.sealer is not None and "sealer" in wanted:
            self.sealer.start()
        if self.retention is not None and "retention" in wanted:
            self.retention.start()
        if self.scheduler is not None and "pause-scheduler" in wanted:
            # Every capped pause still open, overdue ones included, from the call states.
            known = CallStatesConsumer(call_states_path(self.settings))
            try:
                self.scheduler.start(known)
            finally:
                known.close()

    def close(self) -> None:
        if self.retention is not None:
            self.retention.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.pipeline.stop()
        if self.projections is not None:
            self.projections.close()
        if self.relay is not None:
            self.relay.close()
            if self._relay_thread is not None:
                self._relay_thread.join(timeout=30)
        self.committer.close()
        self.service.health.stop()
        if self.sealer is not None:
            self.sealer.stop()  # after the writer, so the last events are sealed too
        self.store.close()


# Events read per batch when the projections are rebuilt from the event store.
REBUILD_BATCH = 20_000


def build(settings: Settings, *, clock: Clock = system_clock,
          clickhouse: Client | None = None) -> Backend:
    """The backend for `settings`; `clickhouse` replaces the client the projections would
    open (tests share one embedded engine per process, one database per test)."""
    tokens = load_tokens(settings)  # a malformed token configuration stops start-up here
    if settings.postgres_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = signing_key(settings)  # made in the data dir on first start, PostgreSQL or not
    store = event_store(settings)
    committer = GroupCommitter(store, max_batch=settings.group_commit_max)
    # The sealer learns of each finished recording from the store the desk writes through.
    finished = FinishedInbox()
    segments = segment_desk(settings, store, committer, clock,
                            AnnouncingStore(recording_store(settings), finished))
    # A server store is probed so requests fail fast while it is down; an embedded one not.
    health = StoreHealth(postgres_probe(settings.postgres_url)
                         if settings.postgres_url is not None else None)
    service = RecordingService(store, committer, skew=settings.clock_skew,
                               backdate=settings.max_backdate, clock=clock,
                               watermark=segments, health=health)
    feed, relay = _feed(settings, store)
    pipeline = Pipeline(feed, fault_pause=settings.fault_pause_ms / 1000)
    # Capped pauses resume by themselves: the scheduler hears of each from the call states.
    scheduler = PauseScheduler(service, poll_seconds=settings.pause_poll_ms / 1000, clock=clock)
    # Consumers are registered here by name, one factory each; `serve` starts them all.
    pipeline.add("call-states", lambda: CallStatesConsumer(call_states_path(settings),
                                                           on_pause=scheduler.push))
    projections = Projections(settings.clickhouse_url(), settings.clickhouse_database,
                              client=clickhouse, linger=settings.projection_linger_ms / 1000,
                              store=store)
    pipeline.add(projections.name, projections.consumer)
    # Audio is held in the API process, so the segment consumer must run beside it.
    pipeline.add("segments", segment_consumer(settings, segments), standalone=False)
    files = SegmentFiles(segments)
    compliance = ComplianceService(store, committer, files=files, clock=clock)
    reads = ReadLog(compliance, enabled=settings.access_log)
    app = create_app(service, timelines=projections.reader, reads=reads)
    app.include_router(listings_router(service, projections.reader))
    app.include_router(analytics_router(projections.reader))
    install_audio_routes(app, segments, reads)
    app.include_router(lifecycle_router(compliance, projections.reader, files.applied))
    sealer = integrity_sealer(settings, segments.store, inbox=finished)
    app.include_router(evidence_router(
        bundles(settings, store, RecordingFiles(segments.store), sealer.seal_once, key, clock),
        public_pem(key), reads))
    sessions = SessionStore(settings.console_session_s)
    install_console(app, service, listings=projections.reader, timelines=projections.reader,
                    dashboards=projections.reader, tokens=tokens, sessions=sessions,
                    segments=segments, compliance=compliance, reads=reads)
    app.include_router(admin_router(
        lambda: _rebuild(projections, store)))
    install_access(app, tokens, service, max_body=settings.max_body_bytes,  # after every route
                   sessions=sessions, pages=refusal_page)
    return Backend(settings, store, committer, service, app, pipeline, relay,
                   projections=projections, segments=segments,
                   sealer=sealer,
                   scheduler=scheduler, compliance=compliance,
                   retention=RetentionSweeper(compliance, projections.reader,
                                              interval_seconds=settings.retention_sweep_ms / 1000),
                   sessions=sessions)


def call_states_path(settings: Settings) -> Path:
    return settings.data_dir / "consumers" / "call-states.sqlite"


def _rebuild(projections: Projections, store: EventStore) -> dict[str, Any]:
    """A rebuild from the event store: what it holds now computed inside ClickHouse, then
    the rest replayed (the store is both the feed and the raw source)."""
    feed = LocalFeed(store, batch_size=REBUILD_BATCH)
    return projections.rebuild_logged(feed, head=store.head(), raw=feed)


def event_store(settings: Settings) -> EventStore:
    """The event store `settings` configure, with the stream index of its backend."""
    return EventStore(settings.event_store_env(), indexes=STREAM_INDEXES)


def _feed(settings: Settings, store: EventStore) -> tuple[EventFeed, Relay | None]:
    """Kafka when configured (with the relay feeding it), else the local log."""
    if settings.kafka_bootstrap is None:
        return LocalFeed(store, batch_size=settings.consumer_batch), None
    from recaudit.adapters.kafka.codec import Codec
    from recaudit.adapters.kafka.feed import KafkaFeed
    from recaudit.adapters.kafka.relay import Relay
    from recaudit.adapters.kafka.topics import ensure_topics

    ensure_topics(settings.kafka_bootstrap, [settings.kafka_topic, settings.kafka_dlq_topic],
                  settings.kafka_partitions)
    codec = Codec.from_package()  # one codec, shared by the relay and the feed
    relay = Relay(store, settings.kafka_bootstrap, settings.kafka_topic, codec=codec,
                  batch_size=settings.relay_batch)
    feed = KafkaFeed(settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_dlq_topic,
                     codec=codec, max_poll_records=settings.consumer_batch)
    return feed, relay
