"""A downstream example: each call's current recording state, in its own SQLite file.

It shows what every consumer of the events must do, in a few lines: apply an
event only if its version is newer than what the store has for that key (so
re-deliveries change nothing), and keep the progress in the same transaction
as the state it describes.

It also knows each call's pause cap and, while a capped pause is open, its deadline: the
pause scheduler of `serve` starts from those (`pause_deadlines`) and hears of each new one
(`on_pause`), so a pause left open when the process stopped is resumed after a restart.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consumers.framework import Consumer
from domain import published
from domain.published import PublishedEvent, is_access_type, is_policy_type

# Told of each capped pause applied: the call and its deadline.
PauseListener = Callable[[str, datetime], None]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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
# Added to call_state after its first release (files made before get them on opening):
# the call's pause cap, and the deadline of its open capped pause (epoch ms; else NULL).
PAUSE_COLUMNS = ("max_pause_ms", "pause_deadline")


class CallStatesConsumer(Consumer):
    name = "call-states"

    def __init__(self, path: Path, on_pause: PauseListener | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(call_state)")}
        for column in PAUSE_COLUMNS:
            if column not in columns:
                self._db.execute(f"ALTER TABLE call_state ADD COLUMN {column} INTEGER")
        self._lock = threading.Lock()
        self._on_pause = on_pause

    def resume_position(self) -> int:
        row = self._db.execute("SELECT position FROM progress WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def apply(self, events: Sequence[PublishedEvent]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                paused = [e.key for e in events if self._apply_one(e) == "RecordingPaused"]
                self._db.execute(
                    "INSERT INTO progress VALUES (1, ?) ON CONFLICT(id) DO UPDATE "
                    "SET position = max(position, excluded.position)",
                    (max(e.position for e in events),),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if self._on_pause is not None:
                for call_id, deadline in self._deadlines(paused):
                    self._on_pause(call_id, deadline)

    def pause_deadlines(self) -> list[tuple[str, datetime]]:
        """Every open capped pause: (call id, deadline), earliest first."""
        with self._lock:
            return self._deadlines(None)

    def _deadlines(self, call_ids: list[str] | None) -> list[tuple[str, datetime]]:
        if call_ids == []:
            return []
        sql = ("SELECT call_id, pause_deadline FROM call_state "
               "WHERE state = 'paused' AND pause_deadline IS NOT NULL")
        params: tuple[str, ...] = ()
        if call_ids is not None:
            sql += f" AND call_id IN ({', '.join('?' * len(call_ids))})"
            params = tuple(call_ids)
        rows = self._db.execute(sql + " ORDER BY pause_deadline, call_id", params).fetchall()
        return [(row[0], EPOCH + timedelta(milliseconds=row[1])) for row in rows]

    def _apply_one(self, event: PublishedEvent) -> str | None:
        """Apply one event; returns its type if it was applied (None: skipped)."""
        f = event.fields
        if is_access_type(event.type):
            return None  # a read of the call: its state is not touched
        if is_policy_type(event.type):
            if event.type == "PolicySet" and f["agent_id"] is None:
                self._db.execute(
                    "INSERT INTO policy_state VALUES (?, ?, ?, ?) ON CONFLICT(org_id) DO UPDATE "
                    "SET mode = excluded.mode, version = excluded.version, "
                    "position = excluded.position WHERE excluded.version > policy_state.version",
                    (event.key, f["mode"], event.version, event.position),
                )
            return None
        row = self._db.execute(
            "SELECT version FROM call_state WHERE call_id = ?", (event.key,)
        ).fetchone()
        if row is not None and row[0] >= event.version:
            return None  # already applied: a re-delivery
        if event.type == "CallStarted":
            self._db.execute(
                "INSERT INTO call_state (call_id, org_id, state, recording_no, rejections, "
                "version, position, max_pause_ms) VALUES (?, ?, 'off', NULL, 0, ?, ?, ?)",
                (event.key, f["org_id"], event.version, event.position, f.get("max_pause_ms")),
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
            # A pause opens a deadline when the call has a cap (NULL + cap is NULL), every
            # other move closes it.
            paused_at = _millis(f["at"]) if event.type == "RecordingPaused" else None
            self._db.execute(
                "UPDATE call_state SET state = ?, recording_no = coalesce(?, recording_no), "
                "version = ?, position = ?, pause_deadline = ? + max_pause_ms WHERE call_id = ?",
                (STATE_AFTER[event.type], f.get("recording_no"), event.version, event.position,
                 paused_at, event.key),
            )
        return event.type

    def snapshot(self) -> dict[str, tuple[object, ...]]:
        """Every call's row, for comparing two runs."""
        rows = self._db.execute(
            "SELECT call_id, org_id, state, recording_no, rejections, version FROM call_state"
        ).fetchall()
        return {row[0]: tuple(row[1:]) for row in rows}

    def close(self) -> None:
        self._db.close()


def _millis(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)
