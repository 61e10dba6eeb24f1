"""Serving a stored file for download: HEAD, single byte ranges, a strong ETag, a file name.

- `ETag` is the file's SHA-256 in quotes (strong: the bytes never change once the file
  exists). `If-None-Match` naming it (or `*`) is answered 304 without a body.
- `Range: bytes=first-last`, `bytes=first-` and `bytes=-suffix` (one range) are answered 206
  with `Content-Range`; a range starting at or beyond the end is 416 `range_not_satisfiable`
  with `Content-Range: bytes */size`. Several ranges, another unit, a malformed header, or an
  `If-Range` that does not name the current ETag get the whole file (200), as HTTP allows.
- `HEAD` answers the same status and headers as `GET` would, without the body.
- `Content-Disposition: attachment` with the file name quoted, `Accept-Ranges: bytes`.

The body is streamed from the store piece by piece; only the range sent is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from consumers.segments.errors import RangeNotSatisfiable

_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)
_UNSAFE_IN_NAME = re.compile(r'[^\x20-\x7e]|["\\]')


class StoredFile(Protocol):
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    def read(self, start: int = 0, length: int | None = None) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class ByteRange:
    start: int
    stop: int  # exclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def serve(request: Request, stored: StoredFile, *, filename: str, media_type: str) -> Response:
    tag = etag(stored.sha256)
    headers = {"ETag": tag, "Accept-Ranges": "bytes",
               "Content-Disposition": attachment(filename)}
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    wanted = None
    if if_range_holds(request.headers.get("if-range"), tag):
        wanted = requested_range(request.headers.get("range"), stored.size)
    status, start, length = 200, 0, stored.size
    if wanted is not None:
        status, start, length = 206, wanted.start, wanted.stop - wanted.start
        headers["Content-Range"] = wanted.content_range(stored.size)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(stored.read(start, length), status, headers=headers,
                             media_type=media_type)


def etag(sha256: str) -> str:
    return f'"{sha256}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether `If-None-Match` names the tag (compared weakly, as RFC 9110 says) or is `*`."""
    if if_none_match is None:
        return False
    given = [t.strip() for t in if_none_match.split(",")]
    return any(t == "*" or t.removeprefix("W/") == tag for t in given)


def if_range_holds(if_range: str | None, tag: str) -> bool:
    """A Range applies unless `If-Range` names anything but the current strong ETag."""
    return if_range is None or if_range.strip() == tag


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, or None to send the whole file; raises
    RangeNotSatisfiable when the range lies beyond the end of the file."""
    found = _SINGLE_RANGE.fullmatch(header.strip()) if header else None
    if found is None:
        return None  # no range, several ranges, another unit or a malformed header
    first, last = found.group(1), found.group(2)
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header or "", size)
        return ByteRange(max(size - suffix, 0), size)
    start = int(first)
    if last and int(last) < start:
        return None  # last before first: not a valid range, so ignored
    if start >= size:
        raise _unsatisfiable(header or "", size)
    return ByteRange(start, size if not last else min(int(last) + 1, size))


def _unsatisfiable(header: str, size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"the range {header.strip()!r} starts beyond the end of the file ({size} bytes)", size)


def attachment(filename: str) -> str:
    """`attachment` with the name as a quoted string: anything but printable ASCII, and the
    quote and backslash, become `_`."""
    return f'attachment; filename="{_UNSAFE_IN_NAME.sub("_", filename)}"'
