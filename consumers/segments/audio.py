"""Media time, sample grids and WAV framing: the arithmetic every other module relies on.

Media time is counted in *ticks* of 1/16000 s since the Unix epoch, on the same
clock as the commands' `at`. Both supported rates divide 16000, so a sample of
either rate, and every millisecond, starts on a whole tick:

- sample `n` of a call at rate R covers [n / R, (n + 1) / R) seconds, so it
  starts at tick `n * (16000 // R)`;
- millisecond `m` starts at tick `16 * m`.

A sample is recorded when its start lies in a `recording` interval [start, end)
of the call: sample `n` belongs to the interval iff `start_ms * R / 1000 <= n <
end_ms * R / 1000`, so an interval of d ms holds exactly d * R / 1000 samples.
The first sample of a chunk sits on the grid point nearest to the chunk's `at`
(ties go to the later sample), which absorbs timestamps cut to microseconds.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta

TICKS_PER_SECOND = 16_000
TICKS_PER_MS = TICKS_PER_SECOND // 1000
SUPPORTED_RATES = (8000, 16000)
DEFAULT_RATE = 8000  # the rate of a recording whose call never sent any audio
SAMPLE_BYTES = 2
FOREVER = 2**62  # a tick after every real one: "decided for good"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def ticks_per_sample(rate: int) -> int:
    if rate not in SUPPORTED_RATES:
        raise ValueError(f"unsupported sample rate {rate}; use one of {SUPPORTED_RATES}")
    return TICKS_PER_SECOND // rate


def micros(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a media time must carry its offset from UTC")
    return (at - EPOCH) // _MICROSECOND


def at_ms(at: datetime) -> int:
    """Milliseconds since the epoch of an event's `at` (already whole milliseconds)."""
    return micros(at) // 1000


def first_sample(at: datetime, rate: int) -> int:
    """The index of the grid sample nearest to `at` (half a sample rounds up)."""
    ticks_per_sample(rate)
    return (micros(at) * rate + 500_000) // 1_000_000


def ms_to_ticks(ms: int) -> int:
    return ms * TICKS_PER_MS


def ticks_to_datetime(ticks: int) -> datetime:
    """The instant of a tick, cut to the microsecond."""
    return EPOCH + timedelta(microseconds=ticks * 1_000_000 // TICKS_PER_SECOND)


def ticks_to_ms_ceiling(ticks: int) -> int:
    """The first whole millisecond at or after `ticks`."""
    return -(-ticks // TICKS_PER_MS)


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def samples_in(start_ms: int, end_ms: int, rate: int) -> tuple[int, int]:
    """The sample range [first, last + 1) whose starts lie in [start_ms, end_ms)."""
    per_ms = rate // 1000
    return start_ms * per_ms, end_ms * per_ms


def chunk_digest(pcm: bytes) -> str:
    """What identifies a chunk's content when a client sends it again."""
    return hashlib.sha256(pcm).hexdigest()[:16]


def wav_header(rate: int, data_bytes: int) -> bytes:
    """The 44-byte RIFF/WAVE header of mono 16-bit PCM at `rate` with `data_bytes` of data."""
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", 36 + data_bytes),
            b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * SAMPLE_BYTES, SAMPLE_BYTES, 16),
            b"data",
            struct.pack("<I", data_bytes),
        )
    )


WAV_HEADER_BYTES = len(wav_header(DEFAULT_RATE, 0))
