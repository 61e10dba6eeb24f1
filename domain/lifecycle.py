"""The compliance lifecycle's rules: retention, legal holds, deletion and reads.

Plain data and pure functions, like `rules.py`: how long audio is kept, whether a
recording is due, which holds cover a call, and what a deletion or a read records.
See docs/rules.md, section "Compliance lifecycle".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

# Audio is kept for 1 day to 100 years, or for ever (null: no retention).
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 36_500
HOLD_MARK = ":hold-"


class DeletionReason(str, Enum):
    RETENTION = "retention"
    ERASURE = "erasure"


class ReadKind(str, Enum):
    """What a recorded read looked at."""

    TIMELINE = "timeline"
    RECORDINGS = "recordings"
    AUDIO = "audio"
    EVIDENCE = "evidence"


# The refusal a deletion of a held recording is recorded with (`CommandRejected`), and
# the command it names. Deleting an open, unknown or deleted recording records nothing.
DELETE_COMMAND = "delete"
LEGAL_HOLD = "legal_hold"


def check_retention_days(audio_days: int | None) -> int | None:
    """`audio_days` if it is a valid retention (None: keep for ever); ValueError otherwise."""
    if audio_days is not None and not MIN_RETENTION_DAYS <= audio_days <= MAX_RETENTION_DAYS:
        raise ValueError(f"audio_days must be between {MIN_RETENTION_DAYS} and "
                         f"{MAX_RETENTION_DAYS}, or null (got {audio_days})")
    return audio_days


def is_due(ended_at: datetime | None, audio_days: int | None, now: datetime) -> bool:
    """Whether a recording of a call that ended at `ended_at` is past its retention."""
    if ended_at is None or audio_days is None:
        return False
    return now - ended_at > timedelta(days=audio_days)


@dataclass(frozen=True)
class Retention:
    """One change of an organisation's retention."""

    audio_days: int | None
    changed_by: str
    reason: str | None
    at: datetime
    version: int


@dataclass(frozen=True)
class Hold:
    """A legal hold on one call, one agent's calls, or every call of an organisation."""

    hold_id: str
    org_id: str
    call_id: str | None
    agent_id: str | None
    case: str
    placed_by: str
    placed_at: datetime
    reason: str | None
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def covers(self, call_id: str, holders: Iterable[str]) -> bool:
        """Whether this hold, while active, covers the call with these agents."""
        if not self.active:
            return False
        if self.call_id is not None:
            return self.call_id == call_id
        if self.agent_id is not None:
            return self.agent_id in set(holders)
        return True


def hold_id(org_id: str, number: int) -> str:
    """The id of an organisation's `number`-th hold: it names its organisation."""
    return f"{org_id}{HOLD_MARK}{number}"


def org_of_hold(value: str) -> str | None:
    """The organisation a hold id names, or None if it is not a hold id."""
    org_id, mark, number = value.rpartition(HOLD_MARK)
    if not mark or not org_id or not number.isdigit() or number.startswith("0"):
        return None
    return org_id


@dataclass(frozen=True)
class Deletion:
    """The deletion of one recording's audio."""

    recording_no: int
    reason: DeletionReason
    by: str
    at: datetime
    sha256: str | None
    note: str | None = None  # the reason given in words
