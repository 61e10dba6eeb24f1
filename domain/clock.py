"""Time as the audit trail keeps it: UTC, whole milliseconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def to_utc_millis(at: datetime) -> datetime:
    """`at` in UTC, cut to the millisecond. Naive datetimes are refused."""
    if at.tzinfo is UTC and not at.microsecond % 1000:
        return at  # already so: the common case, on every command
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timestamp must carry its offset from UTC")
    at = at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


def system_clock() -> datetime:
    return to_utc_millis(datetime.now(UTC))


def iso_millis(at: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: 2026-03-01T09:30:00.000Z."""
    at = to_utc_millis(at)
    if at.year >= 1000:  # four digits either way; isoformat costs a fraction of strftime
        return at.isoformat(timespec="milliseconds")[:-6] + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
