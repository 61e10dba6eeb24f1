"""The chain's format, pinned, and the head file: no database needed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from recaudit.adapters.integrity.chain import (
    GENESIS,
    canonical,
    link_for,
    raw_event,
    seal_recording,
)
from recaudit.adapters.integrity.errors import HeadFileInvalid
from recaudit.adapters.integrity.head import ChainHead, read_head, write_head

STREAM = "0123456789abcdef0123456789abcdef"


def test_a_link_hashes_exactly_as_documented() -> None:
    """Recomputed here from the description, and pinned: changing the format would make
    every chain already stored look tampered with."""
    state = b'{"at":1}'
    event = raw_event(7, STREAM, 3, "recaudit.CallEnded", state)
    state_sha = hashlib.sha256(state).hexdigest()
    body = f'[7,"{STREAM}",3,"recaudit.CallEnded","{state_sha}"]'.encode()
    assert canonical(event) == body
    link = link_for(event, global_prev=GENESIS, stream_prev="1" * 64, sealed_at="t")
    assert link.global_hash == hashlib.sha256(
        b"global\n" + GENESIS.encode() + b"\n" + body).hexdigest()
    assert link.stream_hash == hashlib.sha256(
        b"stream\n" + b"1" * 64 + b"\n" + body).hexdigest()
    assert link.global_hash == (
        "073254e09e8595953faa597e7af487499027c72a8011f80552827f049b76d8ed")


def test_a_recording_seal_hashes_exactly_as_documented() -> None:
    seal = seal_recording(1, ("org", "call", 1), "a" * 64, "b" * 64, prev=GENESIS,
                          sealed_at="t")
    body = f'[1,"org","call",1,"{"a" * 64}","{"b" * 64}"]'.encode()
    assert seal.hash == hashlib.sha256(
        b"recording\n" + GENESIS.encode() + b"\n" + body).hexdigest()


def test_fields_cannot_run_into_each_other() -> None:
    one = raw_event(1, STREAM, 1, 'a","b', b"x")
    two = raw_event(1, STREAM, 1, "a", b"x")
    assert canonical(one) != canonical(two)
    assert raw_event(1, STREAM, 1, "t", None).payload_sha256 != raw_event(
        1, STREAM, 1, "t", b"").payload_sha256


def test_a_head_file_round_trips(tmp_path: Path) -> None:
    head = ChainHead(12, "ab" * 32, "2026-03-01T09:30:00.000Z", 2, "cd" * 32)
    path = tmp_path / "head.json"
    write_head(head, path)
    assert read_head(path) == head
    assert [p.name for p in tmp_path.iterdir()] == ["head.json"]


@pytest.mark.parametrize("content", [
    "not json", "[1, 2]", json.dumps({"global_hash": "ab" * 32}),
    json.dumps({"position": -1, "global_hash": "ab" * 32}),
    json.dumps({"position": True, "global_hash": "ab" * 32}),
    json.dumps({"position": 3, "global_hash": "zz" * 32}),
    json.dumps({"position": 3, "global_hash": "ab"}),
])
def test_a_malformed_head_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "head.json"
    path.write_text(content)
    with pytest.raises(HeadFileInvalid):
        read_head(path)


def test_a_missing_head_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HeadFileInvalid, match="cannot read"):
        read_head(tmp_path / "nowhere.json")
