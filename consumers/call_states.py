"""A downstream example: each call's current recording state, in its own SQLite file.

It shows what every consumer of the events must do, in a few lines: apply an
event only if its version is newer than what the store has for that key (so
re-deliveries change nothing), and keep the progress in the same transaction
as the state it describes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from consumers.framework import Consumer
from domain import published
from domain.published import PublishedEvent, is_policy_type

# A new call is off until its first recording event (a call that records from its start
# gets an automatic RecordingStarted right after); every other move is the domain's table.
STATE_AFTER = {"CallStarted": "off", **{t: s.value for t, s in published.STATE_AFTER.items()}}

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_state (
    call_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, state TEXT NOT NULL,
    recording_no INTEGER, rejections INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS policy_state (
    org_id TEXT PRIMARY KEY, mode TEXT, version INTEGER NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS progress (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER);
"""


class CallStatesConsumer(Consumer):
    name = "call-states"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def resume_position(self) -> int:
        row = self._db.execute("SELECT position FROM progress WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    self._apply_one(event)
                self._db.execute(
                    "INSERT INTO progress VALUES (1, ?) ON CONFLICT(id) DO UPDATE "
                    "SET position = max(position, excluded.position)",
                    (max(e.position for e in events),),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _apply_one(self, event: PublishedEvent) -> None:
        f = event.fields
        if is_policy_type(event.type):
            if event.type == "PolicySet" and f["agent_id"] is None:
                self._db.execute(
                    "INSERT INTO policy_state VALUES (?, ?, ?, ?) ON CONFLICT(org_id) DO UPDATE "
                    "SET mode = excluded.mode, version = excluded.version, "
                    "position = excluded.position WHERE excluded.version > policy_state.version",
                    (event.key, f["mode"], event.version, event.position),
                )
            return
        row = self._db.execute(
            "SELECT version FROM call_state WHERE call_id = ?", (event.key,)
        ).fetchone()
        if row is not None and row[0] >= event.version:
            return  # already applied: a re-delivery
        if event.type == "CallStarted":
            self._db.execute(
                "INSERT INTO call_state VALUES (?, ?, 'off', NULL, 0, ?, ?)",
                (event.key, f["org_id"], event.version, event.position),
            )
        elif event.type == "CommandRejected":
            self._db.execute(
                "UPDATE call_state SET rejections = rejections + 1, version = ?, position = ? "
                "WHERE call_id = ?",
                (event.version, event.position, event.key),
            )
        elif event.type not in STATE_AFTER:
            # A transfer, or a type added later: no state or recording of ours changes.
            self._db.execute(
                "UPDATE call_state SET version = ?, position = ? WHERE call_id = ?",
                (event.version, event.position, event.key),
            )
        else:
            self._db.execute(
                "UPDATE call_state SET state = ?, recording_no = coalesce(?, recording_no), "
                "version = ?, position = ? WHERE call_id = ?",
                (STATE_AFTER[event.type], f.get("recording_no"), event.version, event.position,
                 event.key),
            )

    def snapshot(self) -> dict[str, tuple[object, ...]]:
        """Every call's row, for comparing two runs."""
        rows = self._db.execute(
            "SELECT call_id, org_id, state, recording_no, rejections, version FROM call_state"
        ).fetchall()
        return {row[0]: tuple(row[1:]) for row in rows}

    def close(self) -> None:
        self._db.close()
