"""Finished recordings: an audio file or manifest changed, replaced or removed after sealing
is found, and so is audio that never matched its manifest."""

from __future__ import annotations

import json
from pathlib import Path

from recaudit.adapters.integrity.database import RECORDINGS
from recaudit.bootstrap.segments import RECORDINGS_DIR
from tests.integrity.scene import Scene, record_audio, seal


def sealed_recording(scene: Scene, call_id: str = "audio-1") -> tuple[str, Path]:
    org, call, no = scene.tamper.run(
        f"SELECT org_id, call_id, recording_no FROM {RECORDINGS} WHERE call_id = ?",
        (call_id,))[0]
    return f"{org}/{call}/{no}", scene.settings.data_dir / RECORDINGS_DIR / org / call / str(no)


def audio_findings(scene: Scene) -> list[tuple[str, str | None]]:
    return [(f.kind.value, f.recording) for f in scene.verify().findings]


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_an_altered_audio_byte_is_found(scene: Scene) -> None:
    name, folder = sealed_recording(scene)
    flip_byte(folder / "recording.wav", 1000)
    assert audio_findings(scene) == [("audio_altered", name)]


def test_an_altered_manifest_is_found(scene: Scene) -> None:
    name, folder = sealed_recording(scene)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["duration_ms"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    assert audio_findings(scene) == [("manifest_altered", name)]


def test_audio_replaced_with_a_matching_manifest_is_found(scene: Scene) -> None:
    """Swapping the audio and writing its digest into the manifest fools a check of the
    manifest alone, not the chain."""
    name, folder = sealed_recording(scene)
    _other, elsewhere = sealed_recording(scene, "audio-2")
    (folder / "recording.wav").write_bytes((elsewhere / "recording.wav").read_bytes())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = json.loads((elsewhere / "manifest.json").read_text())["sha256"]
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    assert audio_findings(scene) == [("audio_altered", name), ("manifest_altered", name)]


def test_removed_audio_and_manifests_are_found(scene: Scene) -> None:
    first, folder = sealed_recording(scene)
    second, other = sealed_recording(scene, "audio-2")
    (folder / "recording.wav").unlink()
    (other / "manifest.json").unlink()
    assert audio_findings(scene) == [("audio_missing", first), ("manifest_missing", second)]


def test_an_edited_recording_seal_breaks_the_chain(scene: Scene) -> None:
    name, _folder = sealed_recording(scene)
    scene.tamper.run(f"UPDATE {RECORDINGS} SET audio_sha256 = ? WHERE call_id = ?",
                     ("1" * 64, "audio-1"))
    assert audio_findings(scene) == [("audio_altered", name), ("chain_broken", name)]


def test_audio_that_disagrees_with_its_manifest_is_never_sealed(scene: Scene) -> None:
    record_audio(scene.backend, ("audio-3",))
    folder = next((scene.settings.data_dir / RECORDINGS_DIR).glob("*/audio-3/1"))
    name = "/".join(folder.parts[-3:])
    report = scene.verify()
    assert report.clean and report.unsealed_recordings == 1
    flip_byte(folder / "recording.wav", 2000)
    assert audio_findings(scene) == [("audio_altered", name)]
    assert seal(scene.settings).recordings == 0
    report = scene.verify()
    assert report.unsealed_recordings == 1
    assert [(f.kind.value, f.recording) for f in report.findings] == [("audio_altered", name)]
    assert "not sealed yet" in report.findings[0].detail
