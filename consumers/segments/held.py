"""Audio held in memory until its call's recording state is known (it never touches disk).

`HeldAudio` keeps one call's undecided audio as non-overlapping runs by first
sample index; a chunk that continues the last run is appended to it, so tiny
chunks cost no more than large ones. Deciding copies samples out with `take`;
only once the decision is stored does `drop_before` let them go, so a failed
write loses nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from consumers.segments.audio import SAMPLE_BYTES

Run = tuple[int, bytes]  # (first sample index, PCM bytes)
RUN_BYTES = 1 << 16  # a run grows by appending up to this size


class HeldAudio:
    def __init__(self) -> None:
        self._starts: list[int] = []
        self._runs: dict[int, bytearray] = {}
        self.nbytes = 0

    def __bool__(self) -> bool:
        return bool(self._starts)

    def _end(self, start: int) -> int:
        return start + len(self._runs[start]) // SAMPLE_BYTES

    def overlaps(self, first: int, end: int) -> bool:
        i = bisect_right(self._starts, first)
        if i > 0 and self._end(self._starts[i - 1]) > first:
            return True
        return i < len(self._starts) and self._starts[i] < end

    def holds(self, sample: int) -> bool:
        i = bisect_right(self._starts, sample)
        return i > 0 and self._end(self._starts[i - 1]) > sample

    def add(self, first: int, pcm: bytes) -> None:
        if self.overlaps(first, first + len(pcm) // SAMPLE_BYTES):
            raise ValueError("held audio may not overlap")
        self.nbytes += len(pcm)
        if self._starts:
            last = self._starts[-1]
            if self._end(last) == first and len(self._runs[last]) < RUN_BYTES:
                self._runs[last] += pcm
                return
        insort(self._starts, first)
        self._runs[first] = bytearray(pcm)

    def earliest(self) -> int | None:
        return self._starts[0] if self._starts else None

    def reach(self, end: int) -> int | None:
        """Where the held audio starting before sample `end` ends (at most `end`)."""
        i = bisect_right(self._starts, end - 1)
        return None if i == 0 else min(self._end(self._starts[i - 1]), end)

    def take(self, first: int, end: int) -> list[Run]:
        """Copies of the held samples in [first, end), as contiguous runs."""
        runs: list[Run] = []
        i = max(bisect_right(self._starts, first) - 1, 0)
        for start in self._starts[i:]:
            if start >= end:
                break
            lo, hi = max(start, first), min(self._end(start), end)
            if lo >= hi:
                continue
            run = self._runs[start]
            pcm = bytes(run[(lo - start) * SAMPLE_BYTES : (hi - start) * SAMPLE_BYTES])
            if runs and runs[-1][0] + len(runs[-1][1]) // SAMPLE_BYTES == lo:
                runs[-1] = (runs[-1][0], runs[-1][1] + pcm)
            else:
                runs.append((lo, pcm))
        return runs

    def drop_before(self, sample: int) -> int:
        """Forget every sample before `sample`; returns the bytes released."""
        i = bisect_left(self._starts, sample)  # runs [0, i) begin before `sample`
        if i == 0:
            return 0
        released = sum(len(self._runs.pop(start)) for start in self._starts[: i - 1])
        last = self._starts[i - 1]
        run = self._runs.pop(last)
        del self._starts[:i]
        kept = max(last + len(run) // SAMPLE_BYTES - sample, 0) * SAMPLE_BYTES
        released += len(run) - kept
        if kept:
            self._runs[sample] = run[len(run) - kept :]
            self._starts.insert(0, sample)
        self.nbytes -= released
        return released

    def clear(self) -> int:
        released = self.nbytes
        self._starts.clear()
        self._runs.clear()
        self.nbytes = 0
        return released


class Budget:
    """Bytes held across every call, against the overall bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def fits(self, nbytes: int) -> bool:
        return self.used + nbytes <= self.limit

    def reserve(self, nbytes: int) -> None:
        self.used += nbytes

    def release(self, nbytes: int) -> None:
        self.used = max(self.used - nbytes, 0)
