"""`recaudit serve` refuses to listen beyond loopback without tokens, and says why; it
prints the port it listens on and exits 4 when it cannot listen."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from recaudit.access.tokens import Principal, Role, entry_line, new_token
from recaudit.cli.exits import ExitCode
from recaudit.http.server import free_port

REFUSAL_SECONDS = 30  # a bound for the test, not a timing assertion


def serve(data_dir: Path, host: str, env: dict[str, str],
          port: int | None = None) -> subprocess.Popen[str]:
    """`recaudit serve` in a process of its own, with no RECAUDIT_ setting but `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "serve", "--host", host,
         "--port", str(free_port() if port is None else port), "--data-dir", str(data_dir)],
        env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_all_interfaces_without_tokens_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for host in ("0.0.0.0", "::"):
        process = serve(data_dir, host, {})
        out, err = process.communicate(timeout=REFUSAL_SECONDS)
        assert process.returncode == 2, (out, err)
        assert f"refusing to listen on {host}" in err
        assert "RECAUDIT_TOKENS_FILE" in err and "127.0.0.1" in err
        assert not data_dir.exists(), "nothing may be opened before refusing"


def test_a_malformed_tokens_file_stops_start_up(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"token={new_token()} name=root role=admin org=*\n")
    process = serve(tmp_path / "data", "127.0.0.1", {"RECAUDIT_TOKENS_FILE": str(tokens)})
    _, err = process.communicate(timeout=REFUSAL_SECONDS)
    assert process.returncode == 2
    assert "configuration error" in err and "hashes only" in err


def test_all_interfaces_with_tokens_serves_and_checks_them(tmp_path: Path) -> None:
    token = new_token()
    tokens = tmp_path / "tokens"
    tokens.write_text(entry_line(token, Principal("ada", Role.AUDITOR, "*")) + "\n")
    port = free_port()
    process = serve(tmp_path / "data", "0.0.0.0", {"RECAUDIT_TOKENS_FILE": str(tokens)}, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        assert httpx.get(f"{base}/calls/c1").status_code == 401
        answer = httpx.get(f"{base}/calls/c1", headers={"Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "unknown_call")
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "access control on, 1 tokens" in out


def wait_for_health(base: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer /health within {timeout}s")


def test_port_zero_listens_on_a_free_port_and_prints_it(tmp_path: Path) -> None:
    process = serve(tmp_path / "data", "127.0.0.1", {}, port=0)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)$", line.strip())
        assert found, line
        port = int(found.group(1))
        assert port != 0
        wait_for_health(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == ExitCode.OK


def test_a_port_in_use_exits_with_its_own_code_and_opens_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = serve(data_dir, "127.0.0.1", {}, port=port)
        out, err = process.communicate(timeout=REFUSAL_SECONDS)
    assert process.returncode == ExitCode.CANNOT_LISTEN == 4, (out, err)
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in err
    assert not data_dir.exists(), "nothing may be opened when the port cannot be bound"
