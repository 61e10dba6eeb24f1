"""`recaudit serve` refuses to listen beyond loopback without tokens, and says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from recaudit.access.tokens import Principal, Role, entry_line, new_token
from recaudit.http.server import free_port

REFUSAL_SECONDS = 30  # a bound for the test, not a timing assertion


def serve(data_dir: Path, host: str, env: dict[str, str],
          port: int | None = None) -> subprocess.Popen[str]:
    """`recaudit serve` in a process of its own, with no RECAUDIT_ setting but `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "serve", "--host", host,
         "--port", str(port or free_port()), "--data-dir", str(data_dir)],
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
