"""Evidence bundles built from the store, on SQLite and on PostgreSQL: clean for a call with
audio and for one whose audio was erased, and an event edited in the store after sealing
shows in the bundle built afterwards."""

from __future__ import annotations

from recaudit.adapters.integrity.bundle.check import check_bundle
from recaudit.adapters.integrity.signing import load_or_create
from recaudit.bootstrap.evidence import bundles
from recaudit.bootstrap.integrity import integrity_sealer, recording_files
from tests.integrity.scene import AUDIO_CALLS, ERASED_CALL, Scene


def bundle_of(scene: Scene, call_id: str) -> bytes:
    key = load_or_create(scene.settings.data_dir, None)
    sealer = integrity_sealer(scene.settings)
    try:
        build = bundles(scene.settings, scene.backend.store, recording_files(scene.settings),
                        sealer.seal_once, key)
        return build(call_id)
    finally:
        sealer.close()


def test_bundles_from_the_store_verify(scene: Scene) -> None:
    key = load_or_create(scene.settings.data_dir, None).public_key()
    kept = check_bundle(bundle_of(scene, AUDIO_CALLS[0]), key)
    assert kept.clean, [f.line() for f in kept.findings]
    assert (kept.recordings, kept.deleted) == (1, 0) and kept.events >= 2
    erased = check_bundle(bundle_of(scene, ERASED_CALL), key)
    assert erased.clean, [f.line() for f in erased.findings]
    assert (erased.recordings, erased.deleted) == (1, 1)


def test_an_event_edited_in_the_store_shows_in_the_bundle(scene: Scene) -> None:
    row = next(r for r in scene.tamper.rows() if r.topic == "recaudit.call.CallEnded"
               and b'"audio-1"' in r.state)
    scene.tamper.set_state(row.position, row.state.replace(b'"agent-a"', b'"agent-z"'))
    key = load_or_create(scene.settings.data_dir, None).public_key()
    report = check_bundle(bundle_of(scene, "audio-1"), key)
    found = {(f.kind.value, f.position) for f in report.findings}
    assert ("edited", row.position) in found, [f.line() for f in report.findings]
