"""Calls without audio keep no files of their own while they are open.

Their states are stored together in one object (`_quiet_calls.json`), written once per
round however many such calls the round touched; a call gets its own state file once it
has audio, or when it is finished. A new desk on the same store (a restart) takes every
state back and finishes the recordings exactly as an uninterrupted one would. Silence is
stored as holes: the WAV file reads the same, without the zeros being written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumers.segments import AudioLimits, FilesystemSegmentStore, SegmentDesk, layout
from consumers.segments.audio import WAV_HEADER_BYTES
from consumers.segments.audio import at_ms as to_ms
from consumers.segments.errors import StoreFailure
from consumers.segments.port import Data
from domain.rules import Command, Mode
from recaudit.bootstrap.segments import commit_barrier, latest_version, start_of
from tests.segments.helpers import FakeClock, RecordingOps, Rig, at


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Iterator[Rig]:
    """A rig whose sweeps decide by lateness (the clock is an hour after the calls)."""
    built = Rig(tmp_path, clock, AudioLimits(lateness_ms=10_000))
    yield built
    built.close()


def settle(rig: Rig) -> None:
    rig.apply_all()
    rig.desk.sweep()


def start_calls(rig: Rig, *call_ids: str) -> None:
    rig.service.set_policy("acme", mode=Mode.ALWAYS_ON, changed_by="admin")
    for call_id in call_ids:
        rig.service.start_call(call_id=call_id, org_id="acme", agent_id="bob",
                               direction="inbound", at=at(0))


def end(rig: Rig, call_id: str, ms: int) -> None:
    assert rig.service.command(call_id, Command.END, by="bob", at=at(ms)).refusal is None


def quiet_ids(rig: Rig) -> list[str]:
    raw = rig.store.get(layout.QUIET_CALLS)
    return [] if raw is None else [c["call_id"] for c in json.loads(raw)["calls"]]


def own_states(rig: Rig) -> list[str]:
    return rig.store.keys(layout.CALLS)


def puts(rig: Rig, key: str) -> int:
    """How many times the store replaced `key` (its temporary files, renamed over it)."""
    target = str(rig.segments_root / key)
    return sum(1 for dst in rig.ops.renamed.values() if dst == target)


def test_open_calls_without_audio_share_one_object_written_once_per_round(rig: Rig) -> None:
    start_calls(rig, "c1", "c2", "c3")
    rig.apply_all()

    assert quiet_ids(rig) == ["c1", "c2", "c3"]
    assert own_states(rig) == [], "no call without audio has a file of its own"
    assert puts(rig, layout.QUIET_CALLS) == 1, "one round, one write for the three calls"
    assert rig.store.keys("acme/") == []


def test_a_call_gets_its_own_file_with_audio_and_when_it_ends(rig: Rig) -> None:
    start_calls(rig, "c1", "c2", "c3")
    rig.apply_all()
    assert rig.desk.ingest("c1", at(10), 8000, bytes([1, 2]) * 800).samples == 800
    end(rig, "c2", 500)
    settle(rig)

    # c1 has audio, c2 is finished: each has its own state; c3 is still quiet
    assert own_states(rig) == [layout.call_key("c1"), layout.call_key("c2")]
    assert quiet_ids(rig) == ["c3"]
    c1 = rig.desk.call_audio("c1")
    assert c1 is not None and not c1.done and c1.recordings[1].parts, "c1's audio is stored"
    manifest = json.loads(rig.store.get("acme/c2/1/manifest.json") or b"")
    assert manifest["audio"] == "none"


def test_a_restarted_desk_takes_the_quiet_states_back(rig: Rig, tmp_path: Path) -> None:
    start_calls(rig, "c1", "c2")
    rig.apply_all()
    assert own_states(rig) == [] and quiet_ids(rig) == ["c1", "c2"]
    end(rig, "c1", 300)

    restarted = SegmentDesk(
        FilesystemSegmentStore(rig.segments_root), limits=rig.limits, clock=rig.clock,
        call_version=latest_version(rig.events), call_started=start_of(rig.events),
        barrier=commit_barrier(rig.committer))
    events, _ = rig.feed.read(restarted.position(), 1000)
    assert [e.type for e in events] == ["CallEnded"], "the restart resumes after the round"
    restarted.apply(events)
    restarted.sweep()

    audio = restarted.call_audio("c1")
    assert audio is not None and audio.done and audio.started == at_ms(0)
    assert own_states(rig) == [layout.call_key("c1")] and quiet_ids(rig) == ["c2"]
    manifest = json.loads(rig.store.get("acme/c1/1/manifest.json") or b"")
    assert (manifest["audio"], manifest["duration_ms"], manifest["samples"]) == \
        ("none", 300, 2400)
    quiet = restarted.call_audio("c2")
    assert quiet is not None and not quiet.done and quiet.started == at_ms(0)


def test_silence_is_stored_as_a_hole_and_reads_as_zeros(rig: Rig) -> None:
    start_calls(rig, "c1")
    end(rig, "c1", 60_000)  # a minute recorded, no audio: 960 000 bytes of silence
    settle(rig)

    key = "acme/c1/1/recording.wav"
    wav = rig.store.get(key) or b""
    assert len(wav) == WAV_HEADER_BYTES + 2 * 8000 * 60
    assert wav[WAV_HEADER_BYTES:] == bytes(2 * 8000 * 60)
    allocated = os.stat(rig.segments_root / key).st_blocks * 512
    assert allocated < len(wav) // 4, f"{allocated} bytes on disk for {len(wav)}"


def at_ms(ms: int) -> int:
    return to_ms(at(ms))


class FailsQuietOnce:
    """The rig's store, failing the first write of the quiet calls' object."""

    def __init__(self, store: FilesystemSegmentStore) -> None:
        self.store = store
        self.failed = False

    def put(self, key: str, data: Data) -> int:
        if key == layout.QUIET_CALLS and not self.failed:
            self.failed = True
            raise StoreFailure("disk full")
        return self.store.put(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_failed_write_of_the_quiet_object_leaves_memory_as_the_disk(rig: Rig) -> None:
    start_calls(rig, "c1")
    store = FailsQuietOnce(rig.store)
    desk = SegmentDesk(store, limits=rig.limits, clock=rig.clock,  # type: ignore[arg-type]
                       call_version=latest_version(rig.events),
                       call_started=start_of(rig.events), barrier=commit_barrier(rig.committer))
    events, _ = rig.feed.read(0, 1000)

    with pytest.raises(StoreFailure):
        desk.apply(events)
    assert rig.store.get(layout.QUIET_CALLS) is None and desk.position() == 0
    unstored = desk.call_audio("c1")
    assert unstored is not None and unstored.started is None, "memory went back to the disk"

    desk.apply(events)  # the feed delivers the batch again
    assert quiet_ids(rig) == ["c1"] and desk.position() == events[-1].position
    stored = desk.call_audio("c1")
    assert stored is not None and stored.started == at_ms(0)


class CountingOps(RecordingOps):
    def __init__(self) -> None:
        super().__init__()
        self.dir_syncs: Counter[str] = Counter()
        self.file_syncs = 0

    def fsync(self, fd: int) -> None:
        super().fsync(fd)
        self.file_syncs += 1

    def fsync_dir(self, path: str) -> None:
        super().fsync_dir(path)
        self.dir_syncs[path] += 1


def test_a_round_syncs_each_directory_once_per_phase_not_once_per_object(rig: Rig) -> None:
    start_calls(rig, "c1", "c2", "c3", "c4")
    for call_id in ("c1", "c2", "c3", "c4"):
        end(rig, call_id, 1_000)
    rig.apply_all()
    ops = CountingOps()
    rig.store.ops = ops

    rig.desk.sweep()  # one round finishes the four calls

    # a WAV, a manifest and a state per call, and the quiet object without them
    assert ops.file_syncs == 4 * 3 + 1
    assert quiet_ids(rig) == []
    assert max(ops.dir_syncs.values()) <= 2, ops.dir_syncs
    # per call: its directory and its recording's directory; then the states' directory
    # and the root (the quiet object), and the organisation's directory made in the root
    assert sum(ops.dir_syncs.values()) <= 4 * 2 + 4, ops.dir_syncs
    for call_id in ("c1", "c2", "c3", "c4"):
        audio = rig.desk.call_audio(call_id)
        assert audio is not None and audio.done
        assert rig.store.get(f"acme/{call_id}/1/manifest.json") is not None
