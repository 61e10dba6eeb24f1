"""A rig for the segment store tests, the reference audio, and the proof that no paused
sample ever reached a file."""

from __future__ import annotations

import json
import struct
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consumers.segments import AudioLimits, FilesystemSegmentStore, OsFileOps, SegmentDesk
from consumers.segments.audio import WAV_HEADER_BYTES, wav_header
from domain.rules import CallState
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import event_store
from recaudit.bootstrap.segments import commit_barrier, latest_version, start_of
from recaudit.core.committer import GroupCommitter
from recaudit.core.service import RecordingService
from recaudit.core.views import TimelineView
from recaudit.settings import Settings
from tests.segments.signal import Signal, epoch_ms, samples

ORIGIN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return ORIGIN + timedelta(milliseconds=ms)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = now


class RecordingOps(OsFileOps):
    """The real OS calls, with every byte written to every file kept for inspection."""

    def __init__(self) -> None:
        self.paths: dict[int, str] = {}
        self.contents: dict[str, bytearray] = {}
        self.renamed: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, path: str) -> int:
        fd = super().create(path)
        with self._lock:
            self.paths[fd] = path
            self.contents[path] = bytearray()
        return fd

    def write(self, fd: int, data: bytes) -> int:
        count = super().write(fd, data)
        with self._lock:
            self.contents[self.paths[fd]] += data[:count]
        return count

    def replace(self, src: str, dst: str) -> None:
        super().replace(src, dst)
        with self._lock:
            self.renamed[src] = dst

    def final_name(self, path: str) -> str:
        return self.renamed.get(path, path)


@dataclass
class Rig:
    """Real event store, committer and command service, with the desk as their watermark."""

    root: Path
    clock: FakeClock
    limits: AudioLimits = field(default_factory=lambda: AudioLimits(lateness_ms=None))

    def __post_init__(self) -> None:
        self.events = event_store(Settings.from_env({}, data_dir=self.root))
        self.committer = GroupCommitter(self.events)
        self.ops = RecordingOps()
        self.segments_root = self.root / "recordings"
        self.store = FilesystemSegmentStore(self.segments_root, self.ops)
        self.desk = SegmentDesk(
            self.store, limits=self.limits, clock=self.clock,
            call_version=latest_version(self.events), call_started=start_of(self.events),
            barrier=commit_barrier(self.committer),
        )
        self.service = RecordingService(self.events, self.committer, clock=self.clock,
                                        watermark=self.desk)
        self.feed = LocalFeed(self.events)
        self.read_position = 0

    def apply(self, limit: int = 1000) -> int:
        """Let the consumer apply up to `limit` more events; returns how many it got."""
        events, last = self.feed.read(self.read_position, limit)
        if events:
            self.desk.apply(events)
        self.read_position = last
        return len(events)

    def apply_all(self) -> None:
        while self.apply() or self.read_position < self.events.head():
            pass

    def close(self) -> None:
        self.committer.close()
        self.events.close()


# -- the reference -------------------------------------------------------------------


@dataclass
class Reference:
    """What a call's recordings must hold, from the domain's own timeline."""

    signal: Signal
    pause_behavior: str
    view: TimelineView

    def intervals(self, recording_no: int) -> list[tuple[CallState, int, int]]:
        return [
            (i.state, epoch_ms(i.start), epoch_ms(i.end))
            for i in self.view.intervals
            if i.recording_no == recording_no and i.end is not None
        ]

    def recording_numbers(self) -> list[int]:
        return sorted({i.recording_no for i in self.view.intervals if i.recording_no})

    def expected_pcm(self, recording_no: int) -> bytes:
        s = self.signal
        pieces = []
        for state, start, end in self.intervals(recording_no):
            first, last = s.ms_index(start), s.ms_index(end)
            if state is CallState.RECORDING:
                pieces.append(s.pcm(first, last - first))
            elif self.pause_behavior == "silence":
                pieces.append(bytes(2 * (last - first)))
        return b"".join(pieces)

    def recorded(self) -> list[tuple[int, int]]:
        """Sample ranges [first, end) of every recording interval, in order."""
        s = self.signal
        return [
            (s.ms_index(epoch_ms(i.start)), s.ms_index(epoch_ms(i.end)))
            for i in self.view.intervals
            if i.state is CallState.RECORDING and i.end is not None
        ]


def is_recorded(ranges: list[tuple[int, int]], index: int) -> bool:
    i = bisect_right(ranges, (index, float("inf"))) - 1
    return i >= 0 and ranges[i][0] <= index < ranges[i][1]


def wav_pcm(wav: bytes, rate: int) -> bytes:
    data = wav[WAV_HEADER_BYTES:]
    assert wav[:WAV_HEADER_BYTES] == wav_header(rate, len(data)), "malformed WAV header"
    return data


def prove_no_unrecorded_sample(
    ops: RecordingOps, root: Path, references: dict[str, Reference]
) -> int:
    """Every file the store ever wrote (temporary ones included): JSON is JSON, and every
    audio sample in it lies in a recording interval of its call. Returns the files checked."""
    on_disk = {str(p) for p in root.rglob("*") if p.is_file()}
    written = {ops.final_name(path) for path in ops.contents}
    assert on_disk <= written, f"files not written by the store: {on_disk - written}"
    for path, content in ops.contents.items():
        final = ops.final_name(path)
        if final.endswith(".json"):
            json.loads(bytes(content))
            continue
        call_id = Path(final).relative_to(root).parts[1]
        reference = references[call_id]
        if final.endswith(".wav"):
            data, zero_ok = wav_pcm(bytes(content), reference.signal.rate), True
        else:
            assert final.endswith(".pcm"), f"unexpected file {final}"
            data, zero_ok = bytes(content), False
        _check_samples(data, reference, zero_ok, final)
    return len(ops.contents)


def _check_samples(data: bytes, reference: Reference, zero_ok: bool, name: str) -> None:
    recorded = reference.recorded()
    for value in samples(data):
        if value == 0:
            assert zero_ok, f"{name}: silence inside a part"
            continue
        index = reference.signal.index_of(value)
        assert is_recorded(recorded, index), f"{name}: sample {index} was not recorded"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by relative path, with its bytes."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


def pcm_of(values: list[int]) -> bytes:
    return struct.pack(f"<{len(values)}h", *values)
