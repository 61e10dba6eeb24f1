"""Recordings deleted with a record (retention or erasure) are reported as deleted, with
reason, actor and time, not as findings; audio gone without a record still is one, and an
edited `RecordingDeleted` or `RecordAccessed` is found like any other edited event."""

from __future__ import annotations

import json
from pathlib import Path

from domain.lifecycle import DeletionReason, ReadKind
from recaudit.adapters.integrity.deleted import TOPIC as DELETED
from recaudit.adapters.integrity.deleted import DeletedRecording
from recaudit.adapters.integrity.verify import Report
from recaudit.bootstrap.segments import RECORDINGS_DIR
from tests.integrity.scene import ERASED_CALL, Scene, erase, record_audio, seal

ACCESSED = "recaudit.access.RecordAccessed"


def delete(scene: Scene, call_id: str, reason: DeletionReason) -> None:
    erase(scene.backend, call_id, reason)


def deleted_of(report: Report, call_id: str) -> list[DeletedRecording]:
    return [d for d in report.deleted if d.call_id == call_id]


def folder(scene: Scene, call_id: str) -> Path:
    return next((scene.settings.data_dir / RECORDINGS_DIR).glob(f"*/{call_id}/1"))


def position_of(scene: Scene, topic: str) -> int:
    return next(r.position for r in scene.tamper.rows() if r.topic == topic)


def test_the_scene_holds_a_recording_erased_before_sealing(scene: Scene) -> None:
    report = scene.verify()
    assert report.clean and [d.call_id for d in report.deleted] == [ERASED_CALL]
    assert not (folder(scene, ERASED_CALL) / "recording.wav").exists()
    assert json.loads((folder(scene, ERASED_CALL) / "manifest.json").read_text())[
        "state"] == "deleted"


def test_a_sealed_recording_erased_passes_and_is_reported(scene: Scene) -> None:
    delete(scene, "audio-1", DeletionReason.ERASURE)
    assert not (folder(scene, "audio-1") / "recording.wav").exists()
    report = scene.verify()
    assert report.clean, [f.line() for f in report.findings]
    [deleted] = deleted_of(report, "audio-1")
    assert (deleted.call_id, deleted.reason, deleted.by) == ("audio-1", "erasure",
                                                             "compliance-officer")
    assert deleted.line().startswith("deleted: recording ") and "audio-1/1" in deleted.line()
    # The sealer sees the rewritten manifest announced; it seals nothing twice.
    assert seal(scene.settings).recordings == 0
    assert scene.verify().clean


def test_a_recording_deleted_by_retention_passes(scene: Scene) -> None:
    delete(scene, "audio-2", DeletionReason.RETENTION)
    report = scene.verify()
    assert report.clean and [d.reason for d in deleted_of(report, "audio-2")] == ["retention"]


def test_a_recording_deleted_before_it_was_sealed_is_never_sealed(scene: Scene) -> None:
    record_audio(scene.backend, ("audio-3",))
    delete(scene, "audio-3", DeletionReason.ERASURE)
    assert seal(scene.settings).recordings == 0
    report = scene.verify()
    assert report.clean and report.unsealed_recordings == 0
    assert sorted(d.call_id for d in report.deleted) == ["audio-3", ERASED_CALL]


def test_a_wav_removed_by_hand_is_a_finding(scene: Scene) -> None:
    delete(scene, "audio-1", DeletionReason.ERASURE)
    (folder(scene, "audio-2") / "recording.wav").unlink()
    report = scene.verify()
    assert [(f.kind.value, f.recording) for f in report.findings] == [
        ("audio_missing", "/".join(folder(scene, "audio-2").parts[-3:]))]


def test_a_deleted_manifest_that_disagrees_with_its_record_is_a_finding(scene: Scene) -> None:
    delete(scene, "audio-1", DeletionReason.ERASURE)
    manifest = folder(scene, "audio-1") / "manifest.json"
    document = json.loads(manifest.read_text())
    document["deleted_by"] = "nobody"
    manifest.write_text(json.dumps(document, indent=2, sort_keys=True))
    assert [f.kind.value for f in scene.verify().findings] == ["manifest_altered"]


def test_an_edited_recording_deleted_event_is_a_finding(scene: Scene) -> None:
    delete(scene, "audio-1", DeletionReason.ERASURE)
    seal(scene.settings)
    position = position_of(scene, DELETED)
    row = scene.tamper.row(position)
    scene.tamper.set_state(position, row.state.replace(b'"erasure"', b'"retention"'))
    found = [(f.kind.value, f.position) for f in scene.verify().findings]
    assert ("edited", position) in found


def test_an_edited_record_accessed_event_is_a_finding(scene: Scene) -> None:
    assert scene.backend.compliance is not None
    scene.backend.compliance.record_access("audio-1", ReadKind.AUDIO, by="carol",
                                           role="auditor", recording_no=1)
    seal(scene.settings)
    position = position_of(scene, ACCESSED)
    row = scene.tamper.row(position)
    scene.tamper.set_state(position, row.state.replace(b'"carol"', b'"mallory"'))
    assert [(f.kind.value, f.position) for f in scene.verify().findings] == [
        ("edited", position)]


def test_a_deletion_the_segment_store_has_not_applied_yet_is_no_finding(scene: Scene) -> None:
    """Between the stored RecordingDeleted and the segment store's erasure (a crash, or
    just a moment), the files are still as they were: that converges, it is no finding."""
    record_audio(scene.backend, ("audio-3",))
    assert scene.backend.compliance is not None
    for call_id in ("audio-3", "audio-1"):  # one never sealed, one sealed
        scene.backend.compliance.delete_recording(call_id, 1, by="compliance-officer",
                                                  reason=DeletionReason.ERASURE)
        assert (folder(scene, call_id) / "recording.wav").exists()
    report = scene.verify()
    assert report.clean, [f.line() for f in report.findings]
    assert {"audio-1", "audio-3"} <= {d.call_id for d in report.deleted}
