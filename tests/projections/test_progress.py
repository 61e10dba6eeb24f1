"""Rebuild progress and the process log: `recaudit rebuild-projections` and the server-side
rebuild log progress (events applied, rate, eta); RECAUDIT_LOG_FORMAT=json makes every
log line a JSON object carrying those fields; on a terminal the command draws a bar."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from recaudit.bootstrap import build
from recaudit.http.server import free_port
from recaudit.settings import Settings
from recaudit.workloads import drive, set_policies
from tests.security.test_serve import wait_for_health

PROGRESS_FIELDS = {"events", "position", "events_per_second", "head", "percent", "eta_seconds"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory with stored events and no projections yet (nothing is started)."""
    backend = build(Settings.from_env({}, data_dir=tmp_path))
    try:
        set_policies(backend.service)
        drive(backend.service, 12, seed=3, threads=2)
    finally:
        backend.close()
    return tmp_path


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    return {**clean, **extra}


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` as JSON (fails on a line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def rebuild_lines(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    progress = [r for r in records if r["message"].startswith("rebuild: replayed")]
    done = [r for r in records if r["message"].startswith("rebuild: done")]
    assert progress and len(done) == 1, records
    return progress, done[0]


def test_the_command_logs_progress_as_json_lines(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recaudit.cli", "rebuild-projections", "--data-dir",
         str(data_dir)], env=env(RECAUDIT_LOG_FORMAT="json"), capture_output=True, text=True,
        timeout=180)
    assert result.returncode == 0, result.stderr
    progress, done = rebuild_lines(json_lines(result.stderr))
    head = progress[0]["head"]
    for record in progress:
        assert record.keys() >= PROGRESS_FIELDS and record["level"] == "INFO"
        assert record["head"] == head and 0 < record["position"] <= head
        assert record["eta_seconds"] is not None and record["eta_seconds"] >= 0
    assert done["position"] == head and done["events"] == progress[-1]["events"]
    assert f"rebuilt {done['events']} events up to position {head}" in result.stdout


def test_the_command_draws_a_bar_on_a_terminal_only(data_dir: Path) -> None:
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "rebuild-projections", "--data-dir",
         str(data_dir)], env=env(), stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    terminal = read_all(primary, process)
    assert process.returncode == 0
    assert "\r\x1b[K[" in terminal and "#" * 30 + "]" in terminal, terminal
    assert "(100%)" in terminal and "events/s" in terminal
    assert "rebuild: replayed" not in terminal, "on a terminal the bar replaces the lines"

    plain = subprocess.run(
        [sys.executable, "-m", "recaudit.cli", "rebuild-projections", "--data-dir",
         str(data_dir)], env=env(), capture_output=True, text=True, timeout=180)
    assert plain.returncode == 0, plain.stderr
    assert "\r" not in plain.stderr and "[#" not in plain.stderr
    assert "INFO recaudit.rebuild: rebuild: replayed" in plain.stderr
    assert "eta" in plain.stderr and "events/s" in plain.stderr


def read_all(fd: int, process: subprocess.Popen[str], timeout: float = 180) -> str:
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # poll, not select: the test process may hold more than 1024 descriptors by now
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if poller.poll(200):
            try:
                data = os.read(fd, 4096)
            except OSError:  # the other side closed
                data = b""
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def test_the_server_side_rebuild_logs_progress_and_uvicorn_logs_as_json(
        data_dir: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "serve", "--port", str(port), "--data-dir",
         str(data_dir)], env=env(RECAUDIT_LOG_FORMAT="json"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        answer = httpx.post(f"{base}/admin/projections/rebuild", timeout=120)
        assert answer.status_code == 200, answer.text
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    records = json_lines(err)
    progress, done = rebuild_lines(records)
    assert all(r.keys() >= PROGRESS_FIELDS for r in progress)
    assert done["events"] == answer.json()["events"]
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any("/admin/projections/rebuild" in r["message"] for r in access), access
    assert any(r["logger"] == "uvicorn.error" for r in records)  # "Application startup..."
