"""The download helpers of the HTTP layer: the file name header and the range arithmetic."""

from __future__ import annotations

import pytest

from consumers.segments.errors import RangeNotSatisfiable
from recaudit.http.download import ByteRange, attachment, requested_range


@pytest.mark.parametrize(("name", "header"), [
    ("c1-1.wav", 'attachment; filename="c1-1.wav"'),
    ('a"b\\c.wav', 'attachment; filename="a_b_c.wav"'),
    ("caf\u00e9\r\n.wav", 'attachment; filename="caf___.wav"'),
])
def test_the_file_name_is_a_safe_quoted_string(name: str, header: str) -> None:
    assert attachment(name) == header


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-0", ByteRange(0, 1)),
    ("bytes=5-", ByteRange(5, 10)),
    ("bytes=-3", ByteRange(7, 10)),
    ("bytes=2-100", ByteRange(2, 10)),
    (" bytes=1-2 ", ByteRange(1, 3)),
    ("bytes=1-2, 4-5", None),
    ("bytes=3-2", None),
    ("bytes=--1", None),
])
def test_ranges_against_a_ten_byte_file(header: str | None, expected: ByteRange | None) -> None:
    assert requested_range(header, 10) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10),
                                              ("bytes=-5", 0), ("bytes=0-", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        requested_range(header, size)
    assert refused.value.size == size
