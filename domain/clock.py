"""Time as the audit trail keeps it: UTC, whole milliseconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
# What a time may have below its millisecond, ready to take off: subtracting one is a
# tenth of the cost of `datetime.replace` (about 0.2 us against 2 us, on every command).
_BELOW_MS = tuple(timedelta(microseconds=n) for n in range(1000))


def to_utc_millis(at: datetime) -> datetime:
    """`at` in UTC, cut to the millisecond. Naive datetimes are refused."""
    if at.tzinfo is not UTC:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("a timestamp must carry its offset from UTC")
        at = at.astimezone(UTC)
    return _cut(at)


def system_clock() -> datetime:
    return _cut(datetime.now(UTC))


def _cut(at: datetime) -> datetime:
    """`at`, already in UTC, without what it has below the millisecond."""
    below = at.microsecond % 1000
    return at - _BELOW_MS[below] if below else at


def iso_millis(at: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: 2026-03-01T09:30:00.000Z."""
    at = to_utc_millis(at)
    if at.year >= 1000:  # four digits either way; isoformat costs a fraction of strftime
        return at.isoformat(timespec="milliseconds")[:-6] + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
