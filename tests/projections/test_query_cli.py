"""`recaudit query NAME` through a real `recaudit serve`, and `GET /analytics/{name}`.

The embedded ClickHouse store can be open in one process only: while the server holds it,
a local query refuses (exit 3) and says to go through the server with `--url`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recaudit.cli import main
from recaudit.http.server import free_port
from tests.projections.test_cli import clean_env
from tests.security.helpers import Tokens
from tests.support import wait_until

pytestmark = pytest.mark.clickhouse

T = "2026-03-01T09:{:02d}:{:02d}.000Z"
LONG_PAUSES_CSV = ("call_id,org_id,agent_id,mode,longest_pause_ms\n"
                   "c-1,org-1,a-1,pause_resume,70000\n")


def _serve(data_dir: Path, env: dict[str, str]) -> tuple[str, subprocess.Popen[str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "serve", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=clean_env() | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    wait_until(lambda: _answers(url), timeout=60, what=f"recaudit serve on {url}")
    return url, process


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _one_paused_call(http: httpx.Client) -> None:
    """A pause_resume call with a 70 s pause, once the projection holds it."""
    assert http.put("/policies/org-1", json={"mode": "pause_resume",
                                             "changed_by": "admin"}).status_code == 200
    http.post("/calls", json={"call_id": "c-1", "org_id": "org-1", "agent_id": "a-1",
                              "direction": "inbound", "at": T.format(0, 0)})
    http.post("/calls/c-1/recording/pause", json={"by": "a-1", "at": T.format(0, 10)})
    http.post("/calls/c-1/recording/resume", json={"by": "a-1", "at": T.format(1, 20)})
    position = http.post("/calls/c-1/end", json={"by": "a-1", "at": T.format(2, 0)}
                         ).json()["position"]
    assert http.get("/calls", params={"min_position": position}).status_code == 200


def _local(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recaudit.cli", "query", *args, "--data-dir", str(data_dir)],
        env=clean_env(), capture_output=True, text=True, timeout=120)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    url, process = _serve(tmp_path, {})
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            _one_paused_call(http)
        yield url, tmp_path, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_query_through_the_server_and_locally_once_it_stopped(
        served: tuple[str, Path, subprocess.Popen[str]],
        capsys: pytest.CaptureFixture[str]) -> None:
    url, data_dir, process = served
    pause = ["query", "long_pauses", "--param", "seconds=60", "--url", url]
    assert main([*pause, "--format", "csv"]) == 0
    assert capsys.readouterr().out == LONG_PAUSES_CSV
    assert main([*pause, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["parameters"] == {"seconds": 60}
    assert document["rows"] == [{"call_id": "c-1", "org_id": "org-1", "agent_id": "a-1",
                                 "mode": "pause_resume", "longest_pause_ms": 70000}]
    assert main(pause) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == document["columns"] and row.split()[0] == "c-1"
    assert main(["query", "state_at", "--param", "call_id=c-1", "--param", f"at={T.format(0, 30)}",
                 "--url", url, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("paused,1,")

    held = _local(data_dir, "long_pauses", "--param", "seconds=60")
    assert held.returncode == 3, held.stderr
    assert f"in use by process {process.pid}" in held.stderr
    assert "one process only" in held.stderr and "--url" in held.stderr

    process.terminate()
    process.wait(timeout=30)
    alone = _local(data_dir, "long_pauses", "--param", "seconds=60", "--format", "csv")
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout == LONG_PAUSES_CSV


@pytest.mark.parametrize(("params", "says"), [
    (["--param", "seconds=-1"], "422 invalid_request: seconds:"),
    ([], "422 invalid_request: seconds: is required"),
    (["--param", "seconds=5", "--param", "colour=red"],
     "colour: is not a parameter of this request"),
])
def test_bad_parameters_are_refused_by_the_server(
        served: tuple[str, Path, subprocess.Popen[str]], params: list[str], says: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    url, _data_dir, _process = served
    head = httpx.get(f"{url}/health").json()["position"]
    assert main(["query", "long_pauses", *params, "--url", url]) == 1
    captured = capsys.readouterr()
    assert says in captured.err and captured.out == ""
    assert httpx.get(f"{url}/health").json()["position"] == head


def test_only_tokens_for_every_organisation_may_query(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECAUDIT_TOKEN", raising=False)
    tokens = Tokens.issue()
    url, process = _serve(tmp_path, {"RECAUDIT_TOKENS": tokens.config()})
    try:
        query = ["query", "refusals_by_code_and_mode", "--url", url, "--format", "json"]
        for who in ("auditor-all", "admin-all"):
            assert main([*query, "--token", tokens.raw[who]]) == 0, who
            assert json.loads(capsys.readouterr().out)["rows"] == []
        for who in ("auditor-acme", "admin-acme", "supervisor-acme", "agent-bob"):
            assert main([*query, "--token", tokens.raw[who]]) == 1, who
            assert "403 forbidden" in capsys.readouterr().err
        assert main(query) == 1
        assert "401 unauthenticated" in capsys.readouterr().err
    finally:
        process.terminate()
        process.wait(timeout=30)
