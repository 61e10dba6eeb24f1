"""The segment benchmark runs end to end on a tiny input and prints its figures."""

from __future__ import annotations

import re

import pytest

from bench import segments


def test_the_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert segments.main(["--calls", "4", "--seconds", "2", "--chunk-ms", "40"]) == 0
    out = capsys.readouterr().out
    stored = re.search(r"store: +(\d+) s of audio stored .* = (\d+) audio s per wall s", out)
    assert stored is not None and int(stored.group(1)) > 0, out
    assert re.search(r"events: +\d+ applied in [\d.]+ s = \d+ events/s", out), out
    assert re.search(r"raw: +the same [\d.]+ MB in \d+ files", out), out
    assert re.search(r"ratio: +store / raw wall time = [\d.]+", out), out
