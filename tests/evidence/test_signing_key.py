"""The server's signing key: made once in the data directory (mode 0600, the same for two
processes starting together), or read from RECAUDIT_SIGNING_KEY_FILE; a bad key stops
start-up with a clear error."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recaudit.adapters.integrity.errors import SigningKeyInvalid
from recaudit.adapters.integrity.signing import KEY_FILE, load_or_create, public_pem
from recaudit.bootstrap import build
from recaudit.settings import Settings
from tests.evidence.kit import ROOT


def test_the_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, None)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_pem(load_or_create(tmp_path, None)) == public_pem(first)
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary left


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _n: public_pem(load_or_create(tmp_path, None)), range(16)))
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def _pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_a_configured_key_is_used_and_none_is_made(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    configured = tmp_path / "elsewhere.pem"
    configured.write_bytes(_pem(key))
    data_dir = tmp_path / "data"
    assert public_pem(load_or_create(data_dir, configured)) == public_pem(key)
    assert not (data_dir / KEY_FILE).exists()


@pytest.mark.parametrize("content", [None, b"not a key", "ec"])
def test_a_bad_configured_key_is_refused(tmp_path: Path, content: bytes | str | None) -> None:
    configured = tmp_path / "key.pem"
    if content == "ec":
        configured.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    elif isinstance(content, bytes):
        configured.write_bytes(content)
    with pytest.raises(SigningKeyInvalid):
        load_or_create(tmp_path / "data", configured)


def test_serve_stops_with_exit_2_on_a_bad_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    env |= {"PYTHONPATH": str(ROOT), "RECAUDIT_SIGNING_KEY_FILE": str(tmp_path / "nope.pem")}
    done = subprocess.run([sys.executable, "-m", "recaudit.cli", "serve", "--port", "0",
                           "--data-dir", str(tmp_path / "data")], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "RECAUDIT_SIGNING_KEY_FILE" in done.stderr and "nope.pem" in done.stderr


def test_with_postgres_the_data_dir_still_holds_the_key(postgres_url: str,
                                                        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    backend = build(Settings.from_env({}, data_dir=data_dir, postgres_url=postgres_url))
    try:
        assert (data_dir / KEY_FILE).is_file()
    finally:
        backend.close()
