"""One running backend for the module: two recorded calls (one erased) and their bundles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.evidence.kit import ERASED, KEPT, record
from tests.lifecycle.rig import Rig, rig_settings, running


@dataclass
class Evidence:
    rig: Rig
    data_dir: Path
    public_key: Path
    bundles: dict[str, bytes]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evidence]:
    data_dir = tmp_path_factory.mktemp("evidence-data")
    for rig in running(rig_settings(data_dir)):
        record(rig)
        bundles = {}
        for call_id in (KEPT, ERASED):
            answer = rig.http.get(f"/calls/{call_id}/evidence")
            assert answer.status_code == 200, answer.text
            bundles[call_id] = answer.content
        key = rig.http.get("/integrity/public-key")
        assert key.status_code == 200
        public_key = tmp_path_factory.mktemp("key") / "server.pem"
        public_key.write_bytes(key.content)
        yield Evidence(rig, data_dir, public_key, bundles)
