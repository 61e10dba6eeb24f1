"""The segment store port's contract, run against each adapter (today: the filesystem)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consumers.segments.errors import InvalidKey, StoreFailure
from consumers.segments.filesystem import FilesystemSegmentStore, OsFileOps
from consumers.segments.port import SegmentStore, Silence


class SegmentStoreContract:
    """Every adapter must pass these; subclass with a `store` fixture."""

    def test_put_then_get_stream_and_size(self, store: SegmentStore) -> None:
        assert store.put("org/call/1/a.bin", b"abc") == 3
        assert store.get("org/call/1/a.bin") == b"abc"
        assert store.size("org/call/1/a.bin") == 3
        stream = store.stream("org/call/1/a.bin")
        assert stream is not None and b"".join(stream) == b"abc"

    def test_stream_a_byte_range(self, store: SegmentStore) -> None:
        data = bytes(range(256)) * 1000  # larger than one piece read
        store.put("o/c/1/big.bin", data)

        def read(start: int, length: int | None) -> bytes:
            stream = store.stream("o/c/1/big.bin", start, length)
            assert stream is not None
            return b"".join(stream)

        assert read(0, None) == data
        assert read(70_000, 100_000) == data[70_000:170_000]
        assert read(255_990, 100) == data[255_990:]  # the object ends first
        assert read(1, 0) == b"" and read(len(data), None) == b""

    def test_put_streams_pieces_in_order_and_replaces(self, store: SegmentStore) -> None:
        store.put("k", b"old")
        assert store.put("k", iter([b"n", b"", b"ew"])) == 3
        assert store.get("k") == b"new"

    def test_missing_objects(self, store: SegmentStore) -> None:
        assert store.get("nope") is None
        assert store.stream("nope") is None
        assert store.size("nope/deeper") is None
        store.delete("nope")  # not an error

    def test_keys_by_prefix_sorted(self, store: SegmentStore) -> None:
        for key in ("b/2", "a/1", "a/10/x", "ab"):
            store.put(key, b"x")
        assert store.keys() == ["a/1", "a/10/x", "ab", "b/2"]
        assert store.keys("a/") == ["a/1", "a/10/x"]
        assert store.keys("a") == ["a/1", "a/10/x", "ab"]
        store.delete("a/1")
        assert store.keys("a/") == ["a/10/x"]

    @pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", ".hidden", "a/.tmp"])
    def test_invalid_keys_are_refused(self, store: SegmentStore, key: str) -> None:
        with pytest.raises(InvalidKey):
            store.put(key, b"x")


class TestFilesystemStore(SegmentStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> SegmentStore:
        return FilesystemSegmentStore(tmp_path / "store")


class FailingWrites(OsFileOps):
    """Fails the n-th write with ENOSPC."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.writes = 0

    def write(self, fd: int, data: bytes) -> int:
        self.writes += 1
        if self.writes == self.fail_at:
            raise OSError(28, "No space left on device")
        return super().write(fd, data)


def test_a_failed_put_leaves_the_old_object_and_no_temporary_file(tmp_path: Path) -> None:
    store = FilesystemSegmentStore(tmp_path, FailingWrites(fail_at=3))
    store.put("k", b"first")
    with pytest.raises(StoreFailure, match="No space left"):
        store.put("k", iter([b"sec", b"ond"]))
    assert store.get("k") == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


class Noting(OsFileOps):
    """Notes what each write was handed."""

    def __init__(self) -> None:
        self.given: list[bytes] = []

    def write(self, fd: int, data: bytes) -> int:
        self.given.append(data)
        return super().write(fd, data)


class ShortWrites(Noting):
    """Writes at most 5 bytes a call."""

    def write(self, fd: int, data: bytes) -> int:
        self.given.append(data)
        return OsFileOps.write(self, fd, data[:5])


def test_short_writes_are_carried_on_until_every_byte_is_written(tmp_path: Path) -> None:
    ops = ShortWrites()
    store = FilesystemSegmentStore(tmp_path, ops)
    assert store.put("k", iter([b"abcdefghijkl", b"", b"mn"])) == 14
    assert store.get("k") == b"abcdefghijklmn"
    assert [len(piece) for piece in ops.given] == [12, 7, 2, 0, 2]


def test_silence_is_skipped_unread_and_other_zeros_are_found(tmp_path: Path) -> None:
    ops = Noting()
    store = FilesystemSegmentStore(tmp_path, ops)
    silence, zeros = Silence(1 << 16), bytes(1 << 16)
    assert store.put("k", iter([b"RIFF", silence, zeros, b"end"])) == 4 + 2 * (1 << 16) + 3
    assert store.get("k") == b"RIFF" + bytes(2 << 16) + b"end"
    assert type(ops.given[1]) is Silence  # handed on as it was given, not copied
    assert os.stat(tmp_path / "k").st_blocks * 512 < 1 << 16  # both runs are holes


def test_recover_removes_what_an_interrupted_put_left(tmp_path: Path) -> None:
    store = FilesystemSegmentStore(tmp_path)
    store.put("org/k", b"kept")
    leftover = tmp_path / "org" / ".k.1a2b3c.tmp"
    leftover.write_bytes(b"half")
    assert store.keys() == ["org/k"]  # temporary files are never objects
    assert store.recover() == 1
    assert not leftover.exists() and store.get("org/k") == b"kept"


def test_deleting_the_last_object_removes_its_empty_directories(tmp_path: Path) -> None:
    store = FilesystemSegmentStore(tmp_path / "root")
    store.put("o/c/1/parts/1.pcm", b"x")
    store.put("o/c/1/recording.wav", b"y")
    store.delete("o/c/1/parts/1.pcm")
    assert not (tmp_path / "root/o/c/1/parts").exists()
    assert (tmp_path / "root/o/c/1/recording.wav").exists()
