"""The console benchmark runs end to end on a small table and prints its figures.

No timing is asserted: the figures depend on the machine. What is checked is that both
sides were measured and reported, and that the page it times is the real calls list.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import console


def test_a_small_run_prints_the_page_and_its_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    assert console.main(["--calls", "2000", "--pages", "30", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"console page \(filters, keyset query, HTML\): p50 [\d.]+ ms, "
                     r"p99 [\d.]+ ms, mean [\d.]+ ms  \[target p99 <= 100 ms: (MET|NOT MET)\]",
                     printed), printed
    assert re.search(r"bare CALL_SUMMARIES query .*: p50 [\d.]+ ms, p99 [\d.]+ ms", printed)
    figures = json.loads(out.read_text())
    assert figures["calls"] == 2000 and figures["pages"] == 30
    for side in ("page", "bare"):
        assert 0 < figures[side]["p50_ms"] <= figures[side]["p99_ms"]


def test_the_timed_page_is_the_calls_list(tmp_path: Path) -> None:
    from projections import engine
    from projections.reader import ClickHouseTimelineReader

    client = engine.connect(f"chdb://{tmp_path / 'ch'}")
    try:
        console.fill(client, 200, seed=3)
        reader = ClickHouseTimelineReader(lambda: client, console.DATABASE)
        html, cursor = console.render_page(reader, {"org_id": "org-07"})
        rows = re.findall(r'<tr data-call="(call-\d+)">', html)
        assert len(rows) == 10 and cursor is None  # 200 calls over 20 organisations
        assert all(int(r.split("-")[1]) % 20 == 7 for r in rows)
        html, cursor = console.render_page(reader, {})
        assert len(re.findall(r'<tr data-call=', html)) == 50 and cursor is not None
    finally:
        client.close()
