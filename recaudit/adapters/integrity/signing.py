"""The server's Ed25519 key, which signs the chain heads of evidence bundles.

The key lives in `<data dir>/signing-key.pem` (created on first start, mode 0600), or
where `RECAUDIT_SIGNING_KEY_FILE` says. Creation is atomic: the key is written to a
private temporary file which is then linked to its name, and linking fails when the
name exists, so two processes starting together end up with the same key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from recaudit.adapters.integrity.errors import SigningKeyInvalid

KEY_FILE = "signing-key.pem"


def load_or_create(data_dir: Path, key_file: Path | None) -> Ed25519PrivateKey:
    """The configured key (which must exist), else the data directory's, made if absent."""
    if key_file is not None:
        return read_private_key(key_file)
    path = data_dir / KEY_FILE
    if not path.exists():
        _create(path)
    return read_private_key(path)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
        os.fsync(descriptor)
        os.close(descriptor)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made it first: both use that one
    finally:
        os.unlink(temp)


def read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyInvalid(f"cannot read the signing key {path}: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyInvalid(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyInvalid(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningKeyInvalid(f"{where} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyInvalid(f"{where} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def read_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyInvalid(f"cannot read the public key {path}: {exc}") from exc
    return parse_public_key(data, str(path))


def signature_valid(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
