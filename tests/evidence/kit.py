"""Evidence bundles to check: made over the HTTP API of a running backend, then taken
apart, changed and put back together as someone holding (or not holding) the key could."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recaudit.adapters.integrity.bundle import layout
from recaudit.adapters.integrity.recordings import sha256_of
from recaudit.adapters.integrity.signing import KEY_FILE, read_private_key
from tests.lifecycle.rig import Rig, days_ago
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
KEPT, ERASED = "kept-1", "erased-1"


def record(rig: Rig) -> None:
    """Two calls with a closed recording each; the second one's audio erased on request."""
    rig.policy("org-ev")
    for n, call_id in enumerate((KEPT, ERASED)):
        rig.recorded_call(call_id, "org-ev", start=days_ago(0, -120 + 10 * n))
    for call_id in (KEPT, ERASED):
        wait_until(lambda c=call_id: rig.recordings(c)[0]["state"] == "closed", timeout=30,
                   what=f"the recording of {call_id} to close")
    erased = rig.delete(f"/calls/{ERASED}/recordings/1", by="admin", reason="asked to")
    assert erased.status_code == 200, erased.text
    rig.settle()


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def pack(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def server_key(data_dir: Path) -> Ed25519PrivateKey:
    return read_private_key(data_dir / KEY_FILE)


def resign(files: dict[str, bytes], key: Ed25519PrivateKey,
           change: Callable[[dict[str, bytes]], None] = lambda _files: None) -> bytes:
    """The bundle after `change`, with its manifest and heads made to agree again and signed
    by `key`: only the checks beneath the signature can tell."""
    files = dict(files)
    change(files)
    listed = {n: sha256_of(d) for n, d in files.items() if n not in layout.UNLISTED}
    files[layout.MANIFEST] = layout.manifest_text(listed)
    heads = json.loads(files[layout.HEADS])
    heads["manifest_sha256"] = sha256_of(files[layout.MANIFEST])
    files[layout.HEADS] = json.dumps(heads, indent=2, sort_keys=True).encode()
    files[layout.SIGNATURE] = key.sign(files[layout.HEADS])
    return pack(files)


def edit_json(files: dict[str, bytes], name: str, edit: Callable[[Any], Any]) -> None:
    files[name] = json.dumps(edit(json.loads(files[name])), indent=2).encode()


def verify_bundle(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`recaudit verify-bundle` in a process of its own, in `cwd`, with no configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDIT_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "recaudit.cli", "verify-bundle", *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
