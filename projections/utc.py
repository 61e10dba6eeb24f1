"""Times at the ClickHouse boundary: UTC milliseconds in, UTC-aware datetimes out.

Columns are `DateTime64(3, 'UTC')`. Going in, times are sent as integer milliseconds since
the epoch (exact, and free of any session time zone); the timeline document keeps them as
such. Coming back as datetimes, the chdb backend returns naive ones holding UTC (some
versions drop the column's zone) and a server aware ones: `aware()` makes both UTC-aware,
so no naive datetime leaves the adapter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def to_millis(at: datetime) -> int:
    """Milliseconds since the epoch (floored); naive datetimes are refused."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime cannot be stored: its offset from UTC is unknown")
    return (at - EPOCH) // ONE_MS


def from_millis(millis: int) -> datetime:
    return EPOCH + millis * ONE_MS


def optional_from_millis(millis: int | None) -> datetime | None:
    return None if millis is None else from_millis(millis)


def aware(value: datetime) -> datetime:
    """A datetime read from ClickHouse, as UTC-aware."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
