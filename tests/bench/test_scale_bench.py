"""The scale-out benchmark runs end to end at a tiny scale on the real services.

No timing is asserted: what is checked is that every process count ran, its answers
were the rules' and each server reported the write conflicts it retried.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import scale

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def test_a_tiny_run_prints_every_count(postgres_admin_url: str, kafka_bootstrap: str,
                                       tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scale.json"
    assert scale.main(["--postgres-url", postgres_admin_url, "--kafka", kafka_bootstrap,
                       "--processes", "1,2", "--connections", "2", "--seconds", "1",
                       "--warmup", "0.5", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    for count in (1, 2):
        assert re.search(rf"^{count}\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+\d+\s+ok$", printed,
                         re.MULTILINE), printed
    assert re.search(r"scaling: 1 -> 1\.00x, 2 -> \d+\.\d\dx", printed)
    rows = json.loads(out.read_text())
    assert [r["processes"] for r in rows] == [1, 2]
    assert all(r["requests"] > 0 and r["rate"] > 0 and r["conflicts"] >= 0 for r in rows)
    assert all(r["mismatches"] == [] for r in rows)
