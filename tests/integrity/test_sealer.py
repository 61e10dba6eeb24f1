"""The sealer keeps up with a running backend; sealers running at once never seal an event
twice; verification during sealing sees one consistent instant."""

from __future__ import annotations

import threading
from typing import Any

from consumers.segments import layout
from domain.rules import Mode
from recaudit.adapters.integrity.postgres_db import PostgresChainDatabase
from recaudit.adapters.integrity.recordings import AnnouncingStore
from recaudit.adapters.integrity.sqlite_db import SqliteChainDatabase
from recaudit.bootstrap import Backend
from recaudit.bootstrap.integrity import integrity_sealer, open_database
from recaudit.settings import Settings
from tests.integrity.scene import check, record_audio, seal
from tests.support import wait_until
from tests.workload import ORGS, drive, set_policies


def sealed_position(settings: Settings) -> int:
    db = open_database(settings, read_only=True)
    try:
        link = db.last_link() if db.has_chain() else None
        return link.position if link else 0
    finally:
        db.close()


def test_the_backend_seals_while_it_runs(backend: Backend, settings: Settings) -> None:
    assert backend.sealer is not None
    backend.sealer.interval = 0.05
    backend.start()
    set_policies(backend.service)
    drive(backend.service, 6, seed=21)
    head = backend.store.head()
    wait_until(lambda: sealed_position(settings) >= head, timeout=30, what="the sealer")
    report = check(settings)
    assert report.clean and report.sealed_events >= head


def test_the_backend_seals_the_last_events_when_it_closes(backend: Backend,
                                                          settings: Settings) -> None:
    """The sealer's first round runs as it starts; the next would be an hour later, so the
    calls driven in between are sealed by the round `close()` runs after the writer stops."""
    assert backend.sealer is not None
    set_policies(backend.service)
    before = backend.store.head()
    backend.sealer.interval = 3600
    backend.start()
    wait_until(lambda: sealed_position(settings) == before, timeout=30, what="the first round")
    drive(backend.service, 3, seed=22)
    assert sealed_position(settings) == before
    backend.close()
    report = check(settings)
    assert report.clean and report.unsealed_events == 0
    assert report.sealed_events == report.head.position > before


def test_sealing_twice_seals_nothing_new(backend: Backend, settings: Settings) -> None:
    set_policies(backend.service)
    drive(backend.service, 3, seed=23)
    first = seal(settings)
    again = seal(settings)
    assert first.events == backend.store.head() and again.events == 0
    assert again.head == first.head


def test_racing_sealers_and_readers_agree(backend: Backend, settings: Settings) -> None:
    """Two sealers and a verifier run while calls are written: every event is sealed once,
    and every verification, taken at one instant, is clean."""
    set_policies(backend.service)
    sealers = [integrity_sealer(settings, interval=0.01) for _ in range(2)]
    for sealer in sealers:
        sealer.seal_once()  # create the tables before the race
    reports = []
    stop = threading.Event()

    def verify_repeatedly() -> None:
        while not stop.is_set():
            reports.append(check(settings))

    reader = threading.Thread(target=verify_repeatedly)
    reader.start()
    for sealer in sealers:
        sealer.start()
    try:
        drive(backend.service, 12, seed=24)
    finally:
        for sealer in sealers:
            sealer.stop()
        stop.set()
        reader.join()
    final = check(settings)
    assert final.clean and final.sealed_events == backend.store.head()
    assert reports and all(r.clean for r in reports), [r.findings for r in reports]


def test_the_table_names_are_the_event_store_s(backend: Backend) -> None:
    expected = (PostgresChainDatabase.events_table if backend.settings.postgres_url
                else SqliteChainDatabase.events_table)
    recorder: Any = backend.store.recorder
    assert expected.split(".")[-1] == recorder.events_table_name


def test_after_its_first_round_the_serving_sealer_never_lists_the_recordings(
        backend: Backend, settings: Settings, monkeypatch: Any) -> None:
    """Recordings finished in the process are announced to the sealer, so a round costs
    what is new: listing every recording each second grew with the store (and slowed
    the whole server down under sustained load)."""
    sealer, announcing = backend.sealer, backend.segments and backend.segments.store
    assert sealer is not None and isinstance(announcing, AnnouncingStore)
    set_policies(backend.service)
    record_audio(backend, ("old-1", "old-2"))
    assert sealer.seal_once().recordings == 2  # the first round lists what is there
    listed: list[str] = []
    inner: Any = announcing.inner
    keys = inner.keys
    monkeypatch.setattr(inner, "keys", lambda prefix="": listed.append(prefix) or keys(prefix))
    record_audio(backend, ("new-1", "new-2", "new-3"))
    summary = sealer.seal_once()
    assert summary.recordings == 3 and summary.head.recordings_seq == 5
    assert sealer.seal_once().recordings == 0
    assert "" not in listed  # the desk lists one recording's parts; nobody lists them all
    report = check(settings)
    assert report.clean and report.sealed_recordings == 5 and report.unsealed_recordings == 0


def test_a_recording_announced_twice_is_sealed_once(backend: Backend, settings: Settings) -> None:
    sealer, announcing = backend.sealer, backend.segments and backend.segments.store
    assert sealer is not None and announcing is not None
    set_policies(backend.service)
    sealer.seal_once()
    record_audio(backend, ("twice-1",))
    assert sealer.seal_once().recordings == 1
    manifest = layout.manifest_key(ORGS[Mode.ALWAYS_ON], "twice-1", 1)
    stored = announcing.get(manifest)
    assert stored is not None
    announcing.put(manifest, stored)  # e.g. written again by recovery after a crash
    assert sealer.seal_once().recordings == 0
    assert check(settings).sealed_recordings == 1


def test_a_sealer_overtaken_by_another_lists_everything_again(
        backend: Backend, settings: Settings) -> None:
    sealer = backend.sealer
    assert sealer is not None and backend.segments is not None
    set_policies(backend.service)
    sealer.seal_once()
    record_audio(backend, ("race-1", "race-2"))
    assert seal(settings).recordings == 2  # another process got there first
    record_audio(backend, ("race-3",))
    assert sealer.seal_once().recordings == 0  # its append finds the chain moved on
    assert sealer.seal_once().recordings == 1  # and the next round starts over
    report = check(settings)
    assert report.clean and report.sealed_recordings == 3
