"""The command line reaches a server with access control: `--token` or RECAUDIT_TOKEN,
sent as a bearer token and never printed."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recaudit.access.tokens import Principal, Role, entry_line, new_token
from recaudit.cli import main
from recaudit.http.server import free_port
from tests.security.test_serve import serve, wait_for_health

pytestmark = pytest.mark.clickhouse


class Server:
    def __init__(self, url: str, supervisor: str, admin: str, position: int) -> None:
        self.url, self.supervisor, self.admin, self.position = url, supervisor, admin, position


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.delenv("RECAUDIT_TOKEN", raising=False)
    supervisor, admin = new_token(), new_token()
    tokens = tmp_path / "tokens"
    tokens.write_text(entry_line(supervisor, Principal("sue", Role.SUPERVISOR, "acme")) + "\n"
                      + entry_line(admin, Principal("root", Role.ADMIN, "*")) + "\n")
    port = free_port()
    process = serve(tmp_path / "data", "127.0.0.1", {"RECAUDIT_TOKENS_FILE": str(tokens)}, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        with httpx.Client(base_url=url, timeout=30) as http:
            policy = http.put("/policies/acme", headers={"Authorization": f"Bearer {admin}"},
                              json={"mode": "always_on", "changed_by": "root"})
            assert policy.status_code == 200, policy.text
            call = http.post("/calls", headers={"Authorization": f"Bearer {supervisor}"},
                             json={"call_id": "c-1", "org_id": "acme", "agent_id": "bob",
                                   "direction": "inbound"})
            assert call.status_code == 201, call.text
        yield Server(url, supervisor, admin, int(call.json()["position"]))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _timeline(server: Server, *extra: str) -> list[str]:
    return ["timeline", "c-1", "--url", server.url, "--min-position", str(server.position),
            *extra]


def test_without_a_token_the_refusal_is_shown(server: Server,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_timeline(server)) == 1
    assert "401 unauthenticated" in capsys.readouterr().err


def test_the_token_flag_is_sent_and_not_echoed(server: Server,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_timeline(server, "--token", server.supervisor)) == 0
    captured = capsys.readouterr()
    assert "call c-1  org acme  agent bob  mode always_on" in captured.out
    assert server.supervisor not in captured.out + captured.err


def test_the_token_variable_is_sent(server: Server, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RECAUDIT_TOKEN", server.supervisor)
    assert main(_timeline(server)) == 0
    assert "call c-1" in capsys.readouterr().out


def test_a_wrong_token_is_refused(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_timeline(server, "--token", "not-a-token")) == 1
    err = capsys.readouterr().err
    assert "401 unauthenticated" in err and "not-a-token" not in err


def test_rebuild_through_the_server_uses_the_token(server: Server,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rebuild-projections", "--url", server.url]) == 1
    assert "401 unauthenticated" in capsys.readouterr().err
    assert main(["rebuild-projections", "--url", server.url, "--token", server.supervisor]) == 1
    assert "403 forbidden" in capsys.readouterr().err
    assert main(["rebuild-projections", "--url", server.url, "--token", server.admin]) == 0
    captured = capsys.readouterr()
    assert server.admin not in captured.out + captured.err
