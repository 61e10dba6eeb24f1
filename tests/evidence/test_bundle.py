"""Evidence bundles: a clean one verifies offline with only the bundle and the key; every
change of any file, a removed or extra file, an added, removed or reordered event, and a
bundle signed by another key each fail, naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.check import BundleReport, check_bundle
from recaudit.adapters.integrity.signing import parse_public_key, public_pem
from tests.evidence.conftest import Evidence
from tests.evidence.kit import (
    ERASED,
    KEPT,
    edit_json,
    pack,
    resign,
    server_key,
    unpack,
    verify_bundle,
)

BOTH = (KEPT, ERASED)


def check(evidence: Evidence, data: bytes) -> BundleReport:
    return check_bundle(data, parse_public_key(evidence.public_key.read_bytes(), "key"))


def kinds(report: BundleReport) -> set[tuple[str, str | None]]:
    return {(f.kind.value, f.file) for f in report.findings}


def test_the_bundle_holds_what_the_contract_lists(evidence: Evidence) -> None:
    kept, erased = unpack(evidence.bundles[KEPT]), unpack(evidence.bundles[ERASED])
    common = {layout.README, layout.MANIFEST, layout.HEADS, layout.SIGNATURE,
              layout.PUBLIC_KEY, layout.CALL_EVENTS, layout.ACCESS_EVENTS, layout.LINKS,
              layout.SEALS, layout.TIMELINE, layout.ACCESS_LOG}
    assert set(kept) == common | {layout.manifest_path(1), layout.wav_path(1)}
    assert set(erased) == common | {layout.manifest_path(1)}  # deleted: manifest only
    assert json.loads(erased[layout.manifest_path(1)])["state"] == "deleted"
    assert kept[layout.wav_path(1)][:4] == b"RIFF"
    assert kept[layout.PUBLIC_KEY] == evidence.public_key.read_bytes()
    heads = json.loads(kept[layout.HEADS])
    assert heads["call_id"] == KEPT and [s["name"] for s in heads["streams"]] == ["call",
                                                                                 "access"]
    topics = [row["topic"] for row in json.loads(erased[layout.CALL_EVENTS])]
    assert topics[0] == "recaudit.call.CallStarted"
    assert topics[-1] == "recaudit.call.RecordingDeleted"
    assert json.loads(kept[layout.TIMELINE])["call_id"] == KEPT
    readme = kept[layout.README].decode()
    for name in common - {layout.README}:
        assert name in readme, f"the README does not explain {name}"


def test_a_clean_bundle_verifies_offline(evidence: Evidence, tmp_path: Path) -> None:
    """In a process of its own, in a directory with no data dir and no configuration."""
    for call_id in BOTH:
        bundle = tmp_path / f"{call_id}.zip"
        bundle.write_bytes(evidence.bundles[call_id])
        done = verify_bundle(tmp_path, str(bundle), "--public-key", str(evidence.public_key))
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith(f"recaudit verify-bundle: clean: call {call_id}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{c}.zip" for c in BOTH)
    assert "1 deleted with a record" in done.stdout  # the erased call's recording


@pytest.mark.parametrize("call_id", BOTH)
def test_every_single_byte_change_of_every_file_is_found(evidence: Evidence,
                                                         call_id: str) -> None:
    files = unpack(evidence.bundles[call_id])
    for name, data in files.items():
        for offset in sorted({0, len(data) // 2, len(data) - 1}):
            changed = bytearray(data)
            changed[offset] ^= 0x01
            report = check(evidence, pack({**files, name: bytes(changed)}))
            assert not report.clean, f"a changed byte {offset} of {name} went unnoticed"
            named = [f for f in report.findings if f.file == name or name in f.detail]
            assert named, f"{name} changed: {[f.line() for f in report.findings]}"


@pytest.mark.parametrize("call_id", BOTH)
def test_a_removed_file_is_found(evidence: Evidence, call_id: str) -> None:
    files = unpack(evidence.bundles[call_id])
    for name in files:
        report = check(evidence, pack({n: d for n, d in files.items() if n != name}))
        assert ("file_missing", name) in kinds(report), name


def test_an_extra_file_is_found(evidence: Evidence) -> None:
    files = unpack(evidence.bundles[KEPT])
    report = check(evidence, pack({**files, "recordings/2/recording.wav": b"RIFF"}))
    assert ("file_extra", "recordings/2/recording.wav") in kinds(report)


def _added(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = rows[-1]
    return [*rows, {**last, "position": last["position"] + 1000,
                    "version": last["version"] + 1}]


def _swapped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rows[0], rows[2], rows[1], *rows[3:]]


def _removed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rows[0], *rows[2:]]


@pytest.mark.parametrize(("edit", "kind"), [(_added, "inserted"), (_swapped, "reordered"),
                                            (_removed, "deleted")])
def test_an_added_reordered_or_removed_event_is_found_under_a_valid_signature(
        evidence: Evidence, edit: Any, kind: str) -> None:
    """Even re-signed with the server's own key, the chain recomputed from the rows no
    longer leads to the signed heads."""
    files = unpack(evidence.bundles[KEPT])
    rows = json.loads(files[layout.CALL_EVENTS])
    assert len(rows) >= 3
    changed = edit(rows)
    data = resign(files, server_key(evidence.data_dir),
                  lambda f: edit_json(f, layout.CALL_EVENTS, lambda _rows: changed))
    report = check(evidence, data)
    assert (kind, layout.CALL_EVENTS) in kinds(report), [f.line() for f in report.findings]
    for finding in report.findings:
        assert finding.file is not None
    if edit is _added:
        assert changed[-1]["position"] in {f.position for f in report.findings}
    if edit is _removed:
        assert any("versions 2..2 are missing" in f.detail for f in report.findings)
    assert not any(f.kind.value == "signature_invalid" for f in report.findings)


def test_an_edited_event_state_is_found_under_a_valid_signature(evidence: Evidence) -> None:
    files = unpack(evidence.bundles[KEPT])

    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        state = json.loads(rows[1]["state"] and json.dumps(rows[1]["state"]))
        state["by"] = "someone-else"
        import base64

        rows[1] = {**rows[1], "state": state,
                   "state_base64": base64.b64encode(json.dumps(state).encode()).decode()}
        return rows

    data = resign(files, server_key(evidence.data_dir),
                  lambda f: edit_json(f, layout.CALL_EVENTS, edit))
    report = check(evidence, data)
    position = json.loads(files[layout.CALL_EVENTS])[1]["position"]
    assert ("edited", layout.CALL_EVENTS) in kinds(report)
    assert position in {f.position for f in report.findings}


def test_an_edited_access_log_or_timeline_is_found_under_a_valid_signature(
        evidence: Evidence) -> None:
    files = unpack(evidence.bundles[KEPT])

    def forged(f: dict[str, bytes]) -> None:
        edit_json(f, layout.ACCESS_LOG, lambda entries: entries[1:])
        edit_json(f, layout.TIMELINE, lambda timeline: {**timeline, "org_id": "other"})

    report = check(evidence, resign(files, server_key(evidence.data_dir), forged))
    assert kinds(report) == {("inconsistent", layout.ACCESS_LOG),
                             ("inconsistent", layout.TIMELINE)}


def test_a_bundle_signed_by_another_key_is_found(evidence: Evidence, tmp_path: Path) -> None:
    """Re-signed by someone else, with their public key put in: consistent in itself, and
    refused by the server's key; with no key given, the bundled key is used and says so."""
    other = Ed25519PrivateKey.generate()
    files = unpack(evidence.bundles[KEPT])
    data = resign(files, other, lambda f: f.update({layout.PUBLIC_KEY: public_pem(other)}))
    bundle = tmp_path / "forged.zip"
    bundle.write_bytes(data)
    done = verify_bundle(tmp_path, str(bundle), "--public-key", str(evidence.public_key))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith(f"signature_invalid: file {layout.SIGNATURE}")
    alone = verify_bundle(tmp_path, str(bundle))
    assert alone.returncode == 0 and "inside the bundle" in alone.stdout


def test_verify_bundle_usage_errors_exit_2(evidence: Evidence, tmp_path: Path) -> None:
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(evidence.bundles[KEPT])
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"hello")
    bad_key = tmp_path / "bad.pem"
    bad_key.write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    for args, says in [((str(tmp_path / "missing.zip"),), "cannot read"),
                       ((str(not_zip),), "not a readable zip"),
                       ((str(bundle), "--public-key", str(bad_key)), "not a PEM public key"),
                       ((str(bundle), "--public-key", str(tmp_path / "none.pem")),
                        "cannot read the public key")]:
        done = verify_bundle(tmp_path, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert says in done.stderr, done.stderr


def test_a_timeline_that_is_not_what_the_events_replay_to_is_found(evidence: Evidence) -> None:
    """Re-signed or not, the timeline is recomputed from the bundled events."""
    files = unpack(evidence.bundles[KEPT])
    intervals = len(json.loads(files[layout.TIMELINE])["intervals"])
    assert intervals >= 2

    def forged(f: dict[str, bytes]) -> None:
        edit_json(f, layout.TIMELINE, lambda t: {**t, "intervals": t["intervals"][1:]})

    report = check(evidence, resign(files, server_key(evidence.data_dir), forged))
    [finding] = report.findings
    assert (finding.kind.value, finding.file) == ("inconsistent", layout.TIMELINE)
    assert f"({intervals - 1} intervals, the events give {intervals})" in finding.detail
