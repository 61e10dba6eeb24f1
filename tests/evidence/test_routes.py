"""The evidence route records its read; a refused one records nothing and changes nothing;
`recaudit export` writes the same bundle straight from the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.bundle.check import check_bundle
from recaudit.adapters.integrity.signing import parse_public_key
from recaudit.http.server import BackgroundServer
from tests.evidence.conftest import Evidence
from tests.evidence.kit import ERASED, KEPT, ROOT, unpack


def evidence_reads(evidence: Evidence, call_id: str) -> list[dict[str, object]]:
    answer = evidence.rig.http.get(f"/calls/{call_id}/access")
    assert answer.status_code == 200
    return [e for e in answer.json() if e["what"] == "evidence"]


def test_a_download_is_recorded_once_as_evidence(evidence: Evidence) -> None:
    before = evidence_reads(evidence, KEPT)
    answer = evidence.rig.http.get(f"/calls/{KEPT}/evidence")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == f'attachment; filename="evidence-{KEPT}.zip"'
    after = evidence_reads(evidence, KEPT)
    assert len(after) == len(before) + 1 and after[-1]["by"] == "loopback"
    # The bundle holds the reads recorded before it, this one's earlier downloads included.
    log = unpack(answer.content)[layout.ACCESS_LOG]
    assert log.count(b'"evidence"') == len(before)


def test_the_bundle_of_an_unknown_call_is_refused_and_changes_nothing(
        evidence: Evidence) -> None:
    rig = evidence.rig
    rig.settle()
    before = rig.state()
    answer = rig.http.get("/calls/no-such-call/evidence")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_call"
    assert rig.state() == before


def test_the_public_key_is_the_one_that_signs(evidence: Evidence) -> None:
    answer = evidence.rig.http.get("/integrity/public-key")
    assert answer.headers["content-type"].startswith("application/x-pem-file")
    key = parse_public_key(answer.content, "the answer")
    assert check_bundle(evidence.rig.http.get(f"/calls/{KEPT}/evidence").content, key).clean


def test_export_writes_the_bundle_from_the_data_dir(evidence: Evidence, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "recaudit.cli", "export", KEPT, "--out",
                           str(out), "--data-dir", str(evidence.data_dir)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = check_bundle(out.read_bytes(), parse_public_key(evidence.public_key.read_bytes(),
                                                             "key"))
    assert report.clean and report.call_id == KEPT and report.recordings == 1
    missing = subprocess.run([sys.executable, "-m", "recaudit.cli", "export", "no-such-call",
                              "--out", str(tmp_path / "none.zip"), "--data-dir",
                              str(evidence.data_dir)], cwd=tmp_path, capture_output=True,
                             text=True, env=env, timeout=120, check=False)
    assert missing.returncode == 1 and "no such call" in missing.stderr
    assert not (tmp_path / "none.zip").exists()


def test_verify_reports_the_erasure_over_http_as_deleted(evidence: Evidence,
                                                         tmp_path: Path) -> None:
    assert evidence.rig.backend.sealer is not None
    evidence.rig.backend.sealer.seal_once()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "recaudit.cli", "verify", "--data-dir",
                           str(evidence.data_dir)], cwd=tmp_path, capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"deleted: recording org-ev/{ERASED}/1: erasure by admin at " in done.stdout


def test_export_downloads_the_bundle_from_a_server(evidence: Evidence, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    env["PYTHONPATH"] = str(ROOT)

    def export(call_id: str, url: str, out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "recaudit.cli", "export", call_id,
                               "--out", str(out), "--url", url], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=120,
                              check=False)

    before = len(evidence_reads(evidence, ERASED))
    with BackgroundServer(evidence.rig.backend.app) as server:
        done = export(ERASED, server.url, tmp_path / "erased.zip")
        assert done.returncode == 0, done.stdout + done.stderr
        refused = export("no-such-call", server.url, tmp_path / "none.zip")
        assert refused.returncode == 1 and "404 unknown_call" in refused.stderr
        port = server.port
    report = check_bundle((tmp_path / "erased.zip").read_bytes(),
                          parse_public_key(evidence.public_key.read_bytes(), "key"))
    assert report.clean and report.deleted == 1
    assert len(evidence_reads(evidence, ERASED)) == before + 1
    assert not (tmp_path / "none.zip").exists()
    gone = export(ERASED, f"http://127.0.0.1:{port}", tmp_path / "late.zip")
    assert gone.returncode == 2 and "cannot reach" in gone.stderr
