"""The one place where adapters are chosen and wired together."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from domain.clock import Clock, system_clock
from recaudit.api import create_app
from recaudit.committer import GroupCommitter
from recaudit.eventstore import EventStore
from recaudit.localfeed import LocalFeed
from recaudit.pipeline import Pipeline
from recaudit.service import RecordingService
from recaudit.settings import Settings


@dataclass
class Backend:
    settings: Settings
    store: EventStore
    committer: GroupCommitter
    service: RecordingService
    app: FastAPI
    pipeline: Pipeline

    def close(self) -> None:
        self.pipeline.stop()
        self.committer.close()
        self.store.close()


def build(settings: Settings, *, clock: Clock = system_clock) -> Backend:
    if settings.postgres_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = EventStore(settings.event_store_env())
    committer = GroupCommitter(store, max_batch=settings.group_commit_max)
    service = RecordingService(store, committer, skew=settings.clock_skew, clock=clock)
    pipeline = Pipeline(LocalFeed(store))
    # Consumers are added here, one line each, and started by `serve` (pipeline.start()).
    return Backend(settings, store, committer, service, create_app(service), pipeline)
