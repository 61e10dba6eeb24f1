"""`recaudit timeline` and `recaudit rebuild-projections`: tables, reports and clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recaudit.bootstrap import Backend
from recaudit.cli import main
from recaudit.http.server import BackgroundServer, free_port
from tests.projections.helpers import caught_up, play_scenarios, set_policies
from tests.support import wait_until

pytestmark = pytest.mark.clickhouse


@pytest.fixture
def server_url(ch_backend: Backend) -> Iterator[str]:
    set_policies(ch_backend.service)
    play_scenarios(ch_backend.service, 4, seed=41)
    ch_backend.pipeline.start(only=["projections"])
    caught_up(ch_backend)
    with BackgroundServer(ch_backend.app) as server:
        yield server.url


def test_timeline_prints_the_table(server_url: str, ch_backend: Backend,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "s41-2", "--url", server_url, "--min-position", "1"]) == 0
    out = capsys.readouterr().out
    view = ch_backend.service.timeline("s41-2")
    assert "call s41-2" in out and f"mode {view.mode.value}" in out
    assert f"recording {view.totals()['recording_ms']} ms" in out
    assert len([line for line in out.splitlines() if line[:3].strip().isdigit()]) == len(
        view.intervals)


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["timeline", "no-such-call"], 1, "404 unknown_call: no call with id 'no-such-call'"),
        (["timeline", "s41-0", "--min-position", "-1"], 1, "422 invalid_request: min_position"),
        (["timeline", "a/b?c"], 2, "'a/b?c' is not a call id"),
    ],
)
def test_timeline_refusals_are_clear(server_url: str, argv: list[str], code: int, says: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--url", server_url]) == code
    captured = capsys.readouterr()
    assert says in captured.err
    assert captured.out == ""


def test_timeline_says_when_the_server_is_unreachable(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["timeline", "x", "--url", url]) == 2
    assert f"cannot reach {url}" in capsys.readouterr().err


def test_rebuild_refuses_a_data_dir_without_events(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rebuild-projections", "--data-dir", str(tmp_path / "nothing")]) == 2
    assert "no event store" in capsys.readouterr().err


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """A real `recaudit serve` in its own process, owning the embedded ClickHouse store."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "recaudit.cli", "serve", "--port", str(port),
         "--data-dir", str(tmp_path)],
        env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: _answers(url), timeout=60, what=f"recaudit serve on {url}")
        yield url, tmp_path, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_rebuild_refuses_while_serve_holds_the_store_and_works_through_it(
        serve: tuple[str, Path, subprocess.Popen[str]],
        capsys: pytest.CaptureFixture[str]) -> None:
    url, data_dir, process = serve
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.put("/policies/org-1", json={"mode": "on_demand",
                                                 "changed_by": "admin"}).status_code == 200
        started = http.post("/calls", json={"call_id": "c-1", "org_id": "org-1",
                                            "agent_id": "a-1", "direction": "inbound"})
        position = started.json()["position"]
        before = http.get("/calls/c-1/timeline", params={"min_position": position}).json()

        assert main(["rebuild-projections", "--data-dir", str(data_dir)]) == 3
        err = capsys.readouterr().err
        assert f"in use by process {process.pid}" in err
        assert "Stop the server first" in err and "--url" in err
        assert "POST /admin/projections/rebuild" in err

        # The policy, the call and the read of its timeline (its access log's opening, at
        # position 4, is not published).
        assert main(["rebuild-projections", "--url", url]) == 0
        assert "rebuilt 3 events up to position 5" in capsys.readouterr().out
        assert http.get("/calls/c-1/timeline").json() == before  # a second read: 4 events
    process.terminate()
    process.wait(timeout=30)

    local = subprocess.run(
        [sys.executable, "-m", "recaudit.cli", "rebuild-projections", "--data-dir",
         str(data_dir)], env=clean_env(), capture_output=True, text=True, timeout=120)
    assert local.returncode == 0, local.stderr
    assert "rebuilt 4 events" in local.stdout
    assert "replayed 4 events" in local.stderr  # progress


def test_rebuild_through_an_unreachable_server_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["rebuild-projections", "--url", url]) == 2
    assert f"cannot reach {url}" in capsys.readouterr().err
