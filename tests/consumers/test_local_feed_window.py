"""The embedded feed decodes each stored event once for all its subscriptions, and every
subscription still reads exactly what the store holds, wherever it stands."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from recaudit.adapters import localfeed
from recaudit.adapters.localfeed import LocalFeed
from recaudit.bootstrap import build
from recaudit.settings import Settings
from recaudit.workloads import play, scripts, set_policies


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_subscriptions_anywhere_read_what_the_store_holds(tmp_path: Path, seed: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(localfeed, "RECENT_KEPT", 40)  # small: readers fall behind it
    rng = random.Random(seed)
    backend = build(Settings.from_env({}, data_dir=tmp_path))
    try:
        set_policies(backend.service)
        calls = iter(scripts(60, seed=seed))
        for script in [next(calls) for _ in range(10)]:
            play(backend.service, script)
        feed = LocalFeed(backend.store)
        positions = [0, 0, 0]
        seen: list[list[Any]] = [[], [], []]
        for _ in range(400):
            n = rng.randrange(3)
            if rng.random() < 0.15:
                script = next(calls, None)
                if script is not None:
                    play(backend.service, script)
            events, positions[n] = feed.read(positions[n], rng.choice([1, 7, 25, 60]))
            seen[n] += events
        for n in range(3):  # each reads on to the end
            while True:
                events, last = feed.read(positions[n], 25)
                seen[n] += events
                if last == positions[n]:
                    break
                positions[n] = last
        assert feed.read(positions[0], 10) == ([], positions[0])
        everything, _ = LocalFeed(backend.store).read(0, 100_000)
    finally:
        backend.close()
    assert len(everything) > 150
    for n in range(3):
        assert seen[n] == everything


def test_subscriptions_keeping_up_decode_each_event_once(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    backend = build(Settings.from_env({}, data_dir=tmp_path))
    try:
        set_policies(backend.service)
        decoded: list[bytes] = []  # the stored states decoded (each event's is its own)
        decode = backend.store.event_state
        monkeypatch.setattr(backend.store, "event_state",
                            lambda topic, state: decoded.append(state) or decode(topic, state))
        feed = LocalFeed(backend.store, batch_size=10)
        subscriptions = [feed.subscribe(name, 0) for name in ("a", "b", "c")]
        seen: list[list[Any]] = [[], [], []]
        for script in scripts(30, seed=4):
            play(backend.service, script)
            for n, subscription in enumerate(subscriptions):
                seen[n] += subscription.poll(0)
        decoded_by_feed = list(decoded)
        everything, _ = LocalFeed(backend.store).read(0, 100_000)
    finally:
        backend.close()
    assert seen == [everything] * 3
    assert sorted(decoded_by_feed) == sorted(set(decoded_by_feed))
    assert len(decoded_by_feed) == len(everything)
