"""The token configuration: hashes only, checked at start-up, and `recaudit token`."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from domain.rules import Mode
from recaudit.access import load_tokens
from recaudit.access.errors import TokenConfigError
from recaudit.access.tokens import Principal, Role, TokenTable, digest, entry_line, load, new_token
from recaudit.settings import Settings, SettingsError
from tests.security.conftest import BackendFactory
from tests.security.helpers import TestClient, error_of

HASH = "a" * 64


def table(text: str) -> TokenTable:
    return load([], [("RECAUDIT_TOKENS", text)])


def test_a_configured_token_names_its_holder() -> None:
    token = new_token()
    line = entry_line(token, Principal("bob", Role.AGENT, "acme", "bob"))
    tokens = table(f"# the desk\n{line}  # bob's phone\n")
    assert tokens.principal(token) == Principal("bob", Role.AGENT, "acme", "bob")
    assert tokens.principal(token + "x") is None
    assert tokens.principal(digest(token)) is None
    assert token not in line and hashlib.sha256(token.encode()).hexdigest() in line


def test_entries_may_be_separated_by_semicolons_and_files_add_up(tmp_path: Path) -> None:
    a, b, c = new_token(), new_token(), new_token()
    path = tmp_path / "tokens"
    path.write_text(entry_line(a, Principal("ada", Role.AUDITOR, "*")) + "\n")
    inline = "; ".join([entry_line(b, Principal("sue", Role.SUPERVISOR, "acme")),
                        entry_line(c, Principal("pbx", Role.MEDIA, "acme"))])
    settings = Settings.from_env({"RECAUDIT_TOKENS_FILE": str(path), "RECAUDIT_TOKENS": inline})
    tokens = load_tokens(settings)
    assert len(tokens) == 3
    assert [tokens.principal(t).name for t in (a, b, c)] == ["ada", "sue", "pbx"]  # type: ignore[union-attr]


def test_no_setting_means_access_control_is_off() -> None:
    assert not load_tokens(Settings.from_env({})).enabled


@pytest.mark.parametrize(("text", "says"), [
    ("token=abc name=x role=admin org=*", "hashes only"),
    (f"sha256={HASH[:-1]} name=x role=admin org=*", "64 lowercase hex"),
    (f"sha256={HASH.upper()} name=x role=admin org=*", "64 lowercase hex"),
    (f"sha256={HASH} name=x role=root org=*", "role must be one of"),
    (f"sha256={HASH} name=x role=agent org=acme", "needs agent="),
    (f"sha256={HASH} name=x role=supervisor org=acme agent=x", "only for agent tokens"),
    (f"sha256={HASH} name=x role=supervisor org=*", "org=*"),
    (f"sha256={HASH} name=x role=agent org=* agent=x", "org=*"),
    (f"sha256={HASH} name=x role=admin org=a/b", "organisation id"),
    (f"sha256={HASH} name=-lead role=admin org=*", "name must be"),
    (f"sha256={HASH} role=admin org=*", "name must be"),
    (f"sha256={HASH} name=x name=y role=admin org=*", "given twice"),
    (f"sha256={HASH} name=x role=admin org=* extra", "key=value"),
    (f"sha256={HASH} name=x role=admin org=*\nsha256={HASH} name=y role=admin org=*",
     "listed twice"),
    ("# only a comment", "lists no tokens"),
])
def test_malformed_configuration_is_refused(text: str, says: str) -> None:
    with pytest.raises(TokenConfigError, match=says) as raised:
        table(text)
    assert isinstance(raised.value, SettingsError)  # the CLI exits 2 on it


def test_an_unreadable_tokens_file_is_refused(tmp_path: Path) -> None:
    settings = Settings.from_env({"RECAUDIT_TOKENS_FILE": str(tmp_path / "missing")})
    with pytest.raises(TokenConfigError, match="cannot read the tokens file"):
        load_tokens(settings)


def test_the_configuration_never_holds_a_token(make_backend: BackendFactory) -> None:
    token = new_token()
    line = entry_line(token, Principal("root", Role.ADMIN, "*"))
    backend = make_backend({"RECAUDIT_TOKENS": line})
    assert token not in repr(backend.settings)
    answer = TestClient(backend.app).put("/policies/acme", json={
        "mode": "always_on", "changed_by": "root"}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recaudit.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_token_command_prints_the_token_once_and_its_hash_line(
        make_backend: BackendFactory) -> None:
    done = run_cli("token", "--role", "agent", "--org", "acme", "--agent", "bob",
                   "--name", "bob")
    assert done.returncode == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    token = lines[1]
    config = next(line for line in lines if line.startswith("sha256="))
    assert done.stdout.count(token) == 1
    assert config == f"sha256={digest(token)} name=bob role=agent org=acme agent=bob"
    backend = make_backend({"RECAUDIT_TOKENS": config})
    backend.service.set_policy("acme", mode=Mode.ON_DEMAND, changed_by="setup")
    answer = TestClient(backend.app).post("/calls", headers={"Authorization": f"Bearer {token}"},
                                          json={"call_id": "c1", "org_id": "acme",
                                                "agent_id": "bob", "direction": "inbound"})
    assert answer.status_code == 201, answer.text
    answer = TestClient(backend.app).post("/calls", json={
        "call_id": "c2", "org_id": "acme", "agent_id": "bob", "direction": "inbound"})
    assert error_of(answer) == (401, "unauthenticated")


def test_token_command_refuses_an_incoherent_holder() -> None:
    done = run_cli("token", "--role", "agent", "--org", "acme", "--name", "bob")
    assert done.returncode == 2
    assert "needs agent=" in done.stderr and done.stdout == ""
    done = run_cli("token", "--role", "supervisor", "--org", "*", "--name", "sue")
    assert done.returncode == 2 and "org=*" in done.stderr



def test_new_tokens_never_start_like_a_command_line_option() -> None:
    # About one token in 64 would start with "-" if nothing prevented it.
    tokens = [new_token() for _ in range(2000)]
    assert not [t for t in tokens if t.startswith("-")]
    assert len(set(tokens)) == len(tokens) and all(len(t) == 43 for t in tokens)
