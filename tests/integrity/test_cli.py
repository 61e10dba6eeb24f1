"""`recaudit seal` and `recaudit verify` as a separate process: output and exit codes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from recaudit.bootstrap import Backend
from recaudit.settings import Settings
from tests.integrity.scene import Scene, populate
from tests.integrity.tamper import open_tamper


def recaudit(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    if settings.postgres_url:
        env["RECAUDIT_POSTGRES_URL"] = settings.postgres_url
    return subprocess.run(
        [sys.executable, "-m", "recaudit.cli", *args, "--data-dir", str(settings.data_dir)],
        capture_output=True, text=True, env=env, timeout=120, check=False)


def test_seal_then_verify_then_tamper(backend: Backend, settings: Settings,
                                      tmp_path: Path) -> None:
    populate(backend)
    head_file = tmp_path / "head.json"
    sealed = recaudit(settings, "seal", "--export-head", str(head_file))
    assert sealed.returncode == 0, sealed.stderr
    head = json.loads(head_file.read_text())
    assert head["position"] == backend.store.head() and len(head["global_hash"]) == 64
    assert json.loads(sealed.stdout.split("\n", 1)[1]) == head  # printed as well

    clean = recaudit(settings, "verify", "--head", str(head_file))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("recaudit verify: clean:")

    tamper = open_tamper(settings)
    row = tamper.rows()[10]
    tamper.set_state(row.position, row.state + b" ")
    tamper.close()
    found = recaudit(settings, "verify")
    assert found.returncode == 1
    assert re.match(rf"edited: position {row.position} stream {row.stream} "
                    rf"\((call|policy of org) [^)]+\) version {row.version}: ",
                    found.stdout.splitlines()[0]), found.stdout
    as_json = recaudit(settings, "verify", "--json", "--export-head", str(tmp_path / "new"))
    assert as_json.returncode == 1 and not (tmp_path / "new").exists()
    report = json.loads(as_json.stdout)
    assert [(f["kind"], f["position"]) for f in report["findings"]] == [
        ("edited", row.position)]


def test_verify_refuses_a_directory_without_an_event_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings.from_env({}, data_dir=empty)
    for command in ("verify", "seal"):
        result = recaudit(settings, command)
        assert result.returncode == 2
        assert "no event store at" in result.stderr
    assert list(empty.iterdir()) == []


def test_verify_refuses_an_unreadable_head(scene: Scene, tmp_path: Path) -> None:
    bad = tmp_path / "head.json"
    bad.write_text(json.dumps({"position": 3, "global_hash": "abc"}))
    result = recaudit(scene.settings, "verify", "--head", str(bad))
    assert result.returncode == 2 and "not a valid chain head" in result.stderr


def test_verify_cannot_run_without_its_database(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    url = f"postgresql://nobody:secret@127.0.0.1:{port}/nothing"
    result = recaudit(Settings.from_env({}, data_dir=tmp_path, postgres_url=url), "verify")
    assert result.returncode == 2
    assert "cannot connect to PostgreSQL" in result.stderr and result.stdout == ""
