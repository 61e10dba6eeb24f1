"""Synthetic audio whose every sample says which sample it is.

Within one call, the sample at offset k from the call's base index has a value
that no other sample of that call has (offsets 0..65534 map one-to-one onto
the non-zero int16 values), so any sample found in a file can be traced back
to its media time; zero is left for silence.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from consumers.segments.audio import SAMPLE_BYTES, first_sample, micros

SPAN = 65535  # distinct non-zero int16 values


def value_of(offset: int) -> int:
    if not 0 <= offset < SPAN:
        raise ValueError(f"offset {offset} is outside the signal's span")
    return offset - 32768 if offset < 32768 else offset - 32767


def offset_of(value: int) -> int:
    if value == 0:
        raise ValueError("zero is silence, not a sample of the signal")
    return value + 32768 if value < 0 else value + 32767


@dataclass(frozen=True)
class Signal:
    base: int  # absolute sample index of offset 0
    rate: int

    @classmethod
    def starting(cls, at: datetime, rate: int) -> Signal:
        return cls(first_sample(at, rate), rate)

    def pcm(self, first: int, count: int) -> bytes:
        """Samples [first, first + count) (absolute indexes), little-endian int16."""
        values = [value_of(i - self.base) for i in range(first, first + count)]
        return struct.pack(f"<{count}h", *values)

    def index_of(self, value: int) -> int:
        return self.base + offset_of(value)

    def ms_index(self, ms: int) -> int:
        """The first sample whose start lies at or after millisecond `ms` since the epoch."""
        return ms * self.rate // 1000


def samples(data: bytes) -> tuple[int, ...]:
    if len(data) % SAMPLE_BYTES:
        raise ValueError("odd number of bytes")
    return struct.unpack(f"<{len(data) // SAMPLE_BYTES}h", data)


def epoch_ms(at: datetime) -> int:
    return micros(at) // 1000
