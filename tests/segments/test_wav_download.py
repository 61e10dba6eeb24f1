"""A recording's WAV over HTTP: only once closed, with HEAD, byte ranges, ETag and a file name.

A player seeks with `Range`, checks with `HEAD`, and revalidates with `If-None-Match`; every
answer agrees with the whole file, and every refusal leaves the stores as they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from consumers.segments import library
from consumers.segments.filesystem import READ_PIECE
from tests.segments.httprig import Api, error

WAV = "/calls/c1/recordings/1.wav"
LONG_MS = 5_000  # no audio sent: 5 s of silence, 80 044 bytes, more than one piece


@pytest.fixture
def closed(api: Api) -> Iterator[bytes]:
    """c1's recording 1, closed, and its whole file."""
    assert api.command("c1", "end", LONG_MS).status_code == 200
    api.apply()
    api.desk.sweep()
    whole = api.client.get(WAV)
    assert whole.status_code == 200
    yield whole.content


def get(api: Api, method: str = "GET", **headers: str) -> httpx.Response:
    return api.client.request(method, WAV, headers=headers)


def without_date(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "date"}


def test_an_open_recording_is_listed_but_its_wav_is_refused(api: Api) -> None:
    assert api.post("c1", 0, 160).status_code == 202
    api.apply()
    assert [m["state"] for m in api.client.get("/calls/c1/recordings").json()] == ["open"]
    before = api.state()
    for method in ("GET", "HEAD"):
        response = get(api, method)
        assert response.status_code == 409, (method, response.status_code)
        if method == "GET":
            assert error(response) == (409, "recording_open")
            assert "still open" in response.json()["error"]["message"]
    assert api.state() == before


def test_the_whole_file_names_itself_and_its_digest(api: Api, closed: bytes) -> None:
    [manifest] = api.client.get("/calls/c1/recordings").json()
    response = get(api)
    assert response.headers["etag"] == f'"{manifest["sha256"]}"'
    assert manifest["sha256"] == hashlib.sha256(closed).hexdigest()
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="c1-1.wav"'
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(len(closed)) == str(manifest["bytes"] + 44)


def test_head_answers_the_same_headers_without_the_body(api: Api, closed: bytes) -> None:
    for headers in ({}, {"range": "bytes=100-199"}, {"if-none-match": get(api).headers["etag"]}):
        full, head = get(api, **headers), get(api, "HEAD", **headers)
        assert head.status_code == full.status_code, headers
        assert without_date(head) == without_date(full)
        assert head.content == b""


@pytest.mark.parametrize(("header", "first", "stop"), [
    ("bytes=0-43", 0, 44),
    ("bytes=70000-", 70_000, None),
    ("bytes=-10", -10, None),
    ("bytes=100-100", 100, 101),
    ("bytes=80000-999999", 80_000, None),  # clipped to the end
    ("bytes=-999999", 0, None),  # a suffix longer than the file: all of it
    ("BYTES=1-2", 1, 3),
])
def test_a_single_range_is_206_with_its_bytes(
    api: Api, closed: bytes, header: str, first: int, stop: int | None
) -> None:
    expected = closed[first:stop]
    response = get(api, range=header)
    assert response.status_code == 206, response.text
    assert response.content == expected
    start = first if first >= 0 else len(closed) + first
    assert response.headers["content-range"] == \
        f"bytes {start}-{start + len(expected) - 1}/{len(closed)}"
    assert response.headers["content-length"] == str(len(expected))


@pytest.mark.parametrize("header", [
    "bytes=0-1,5-6",  # several ranges: the whole file
    "items=0-1", "bytes=x-y", "bytes=-", "bytes=9-3", "bytes 0-1",
])
def test_other_ranges_get_the_whole_file(api: Api, closed: bytes, header: str) -> None:
    response = get(api, range=header)
    assert response.status_code == 200 and response.content == closed
    assert "content-range" not in response.headers


@pytest.mark.parametrize("header", ["bytes=80044-", "bytes=90000-90001", "bytes=-0"])
def test_an_unsatisfiable_range_is_416(api: Api, closed: bytes, header: str) -> None:
    before = api.state()
    response = get(api, range=header)
    assert error(response) == (416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{len(closed)}"
    assert api.state() == before


def test_if_none_match_and_if_range_use_the_etag(api: Api, closed: bytes) -> None:
    tag = get(api).headers["etag"]
    for given in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        response = get(api, **{"if-none-match": given})
        assert response.status_code == 304 and response.content == b"", given
        assert response.headers["etag"] == tag
    assert get(api, **{"if-none-match": '"other"'}).content == closed
    assert get(api, range="bytes=0-9", **{"if-range": tag}).status_code == 206
    stale = get(api, range="bytes=0-9", **{"if-range": '"other"'})
    assert stale.status_code == 200 and stale.content == closed


def test_the_file_is_read_in_pieces(api: Api, closed: bytes) -> None:
    stored = library.wav(api.desk, "c1", 1)
    pieces = list(stored.read())
    assert len(pieces) > 1 and max(map(len, pieces)) <= READ_PIECE
    assert b"".join(pieces) == closed
    assert b"".join(stored.read(70_000, 20)) == closed[70_000:70_020]
