"""The segment consumer as its own process over a prepared event store, for the crash tests.

    python -m tests.segments.kill_worker DATA_DIR AUDIO_FILE [--die-before-op N]

It sends every chunk of AUDIO_FILE (a JSON list of [call_id, first sample, rate,
base64 PCM]) to the desk, as the media side would again after a restart (what
is already decided is refused or recognised as a repeat), then runs the
consumer under a ConsumerRunner on the local feed until every event is applied,
and prints `done OPS`, OPS being the disk operations it made. With
--die-before-op N it SIGKILLs itself just before its N-th disk operation.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consumers.framework import ConsumerRunner
from consumers.segments import (
    AudioLimits,
    FilesystemSegmentStore,
    OsFileOps,
    SegmentConsumer,
    SegmentDesk,
)
from consumers.segments.audio import EPOCH
from consumers.segments.errors import AudioRefused
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import event_store
from recaudit.bootstrap.segments import latest_version, start_of
from recaudit.settings import Settings

CLOCK = datetime(2030, 1, 1, tzinfo=UTC)  # long after every call: nothing is from the future


class DyingOps(OsFileOps):
    """Counts disk operations; kills the process just before the chosen one."""

    def __init__(self, die_before: int | None) -> None:
        self.die_before = die_before
        self.count = 0
        self._lock = threading.Lock()

    def _next(self) -> None:
        with self._lock:
            self.count += 1
            if self.count == self.die_before:
                os.kill(os.getpid(), signal.SIGKILL)

    def create(self, path: str) -> int:
        self._next()
        return super().create(path)

    def write(self, fd: int, data: bytes) -> int:
        self._next()
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self._next()
        super().fsync(fd)

    def replace(self, src: str, dst: str) -> None:
        self._next()
        super().replace(src, dst)

    def unlink(self, path: str) -> None:
        self._next()
        super().unlink(path)

    def fsync_dir(self, path: str) -> None:
        self._next()
        super().fsync_dir(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("audio", type=Path)
    parser.add_argument("--die-before-op", type=int)
    args = parser.parse_args(argv)
    store = event_store(Settings.from_env({}, data_dir=args.data_dir))
    ops = DyingOps(args.die_before_op)
    desk = SegmentDesk(
        FilesystemSegmentStore(args.data_dir / "recordings", ops),
        limits=AudioLimits(lateness_ms=None), clock=lambda: CLOCK,
        call_version=latest_version(store), call_started=start_of(store),
    )
    for call_id, first, rate, pcm in json.loads(args.audio.read_text()):
        at = EPOCH + timedelta(microseconds=first * 1_000_000 // rate)
        try:
            desk.ingest(call_id, at, rate, base64.b64decode(pcm))
        except AudioRefused:
            pass  # decided before the restart
    events, _ = LocalFeed(store).read(0, 1_000_000)
    runner = ConsumerRunner(LocalFeed(store, batch_size=2),
                            SegmentConsumer(desk, sweep_seconds=None), poll_timeout=0.05)
    thread = runner.start()
    deadline = time.monotonic() + 60
    while desk.position() < events[-1].position:
        if not thread.is_alive() or time.monotonic() > deadline:
            print("the consumer stopped before applying every event", file=sys.stderr)
            return 1
        time.sleep(0.01)
    runner.stop.set()
    thread.join(timeout=10)
    store.close()
    print("done", ops.count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
