"""Opening the chain database and the recordings for a configuration."""

from __future__ import annotations

from pathlib import Path

from consumers.segments import FilesystemSegmentStore, SegmentStore
from recaudit.adapters.integrity.database import ChainDatabase
from recaudit.adapters.integrity.recordings import FinishedInbox, RecordingFiles
from recaudit.adapters.integrity.sealer import Sealer
from recaudit.bootstrap.segments import RECORDINGS_DIR
from recaudit.settings import Settings


def open_database(settings: Settings, *, read_only: bool) -> ChainDatabase:
    if settings.postgres_url:
        from recaudit.adapters.integrity.postgres_db import PostgresChainDatabase

        return PostgresChainDatabase(settings.postgres_url, read_only=read_only)
    from recaudit.adapters.integrity.sqlite_db import SqliteChainDatabase

    return SqliteChainDatabase(Path(settings.event_store_env()["SQLITE_DBNAME"]),
                               read_only=read_only)


def recording_files(settings: Settings) -> RecordingFiles:
    """The finished recordings under the data directory, read only."""
    return RecordingFiles(FilesystemSegmentStore(settings.data_dir / RECORDINGS_DIR))


def integrity_sealer(settings: Settings, segments: SegmentStore | None = None,
                     *, interval: float = 1.0, inbox: FinishedInbox | None = None) -> Sealer:
    """The sealer for `settings`; `segments` is the segment store the process writes to,
    `inbox` where it announces the recordings it finishes."""
    files = RecordingFiles(segments) if segments is not None else recording_files(settings)
    return Sealer(lambda: open_database(settings, read_only=False), files, interval=interval,
                  inbox=inbox)
