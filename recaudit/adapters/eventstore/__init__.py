"""Stream indexes of the event store, one per backend, keyed by persistence module.

The keys are the values of the library's PERSISTENCE_MODULE setting; the
composition root passes this mapping to `EventStore`, which takes the entry of
the module it was configured with.
"""

from __future__ import annotations

from collections.abc import Mapping

from recaudit.adapters.eventstore.postgres import PostgresStreamIndex
from recaudit.adapters.eventstore.sqlite import SQLiteStreamIndex
from recaudit.core.eventstore import StreamIndexFactory

STREAM_INDEXES: Mapping[str, StreamIndexFactory] = {
    "eventsourcing.sqlite": SQLiteStreamIndex,
    "eventsourcing.postgres": PostgresStreamIndex,
}
