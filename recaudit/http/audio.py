"""The audio routes of the contract: ingestion, the recordings of a call, a recording as WAV.

`POST /calls/{call_id}/audio?at=T&rate=R` checks, in this order and before
anything is held: the content type (415), `at` and `rate` (422), the body
(413 if larger than a call may hold, 422 if empty or of an odd length), then the
call (404 `unknown_call`, 409 `call_ended`, 409 `rate_mismatch`, 409
`future_timestamp`, 409 `audio_before_call`, 409 `audio_overlap`) and the memory bounds (429
`audio_backlog_full`). Only then is the chunk held; it is answered 202.

`GET` and `HEAD /calls/{call_id}/recordings/{recording_no}.wav` serve a closed
recording's file (`download`: byte ranges, ETag, file name); an open one is 409
`recording_open`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from consumers.segments import library
from consumers.segments.audio import SAMPLE_BYTES, SUPPORTED_RATES
from consumers.segments.desk import SegmentDesk
from consumers.segments.errors import ChunkTooLarge, InvalidAudio, UnsupportedMediaType
from domain.clock import iso_millis
from domain.ids import ID_PATTERN
from domain.lifecycle import ReadKind
from recaudit.http import download, models
from recaudit.http.api import in_range
from recaudit.http.reads import ReadLog

MEDIA_TYPE = "audio/l16"
CallIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
_TIMESTAMP = TypeAdapter(datetime)


def install_audio_routes(app: FastAPI, desk: SegmentDesk, reads: ReadLog | None = None) -> None:
    """`reads`: records each read of a recordings list or a WAV file (a GET that serves it
    from its first byte: a player's later ranges of the same listen are not counted)."""

    @app.post("/calls/{call_id}/audio", status_code=202, openapi_extra=AUDIO_REQUEST,
              response_model=models.ChunkAccepted, tags=["audio"])
    async def post_audio(call_id: CallIdPath, request: Request) -> JSONResponse:
        """Send a chunk of the call's audio; only samples in recording intervals are kept."""
        declared = check_content_type(request.headers.get("content-type"))
        rate = parse_rate(request.query_params.get("rate"), declared)
        at = parse_at(request.query_params.get("at"))
        pcm = await read_body(request, desk.limits.held_per_call)
        accepted = await run_in_threadpool(desk.ingest, call_id, at, rate, pcm)
        return JSONResponse(
            {
                "call_id": call_id,
                "start": iso_millis(accepted.first),
                "samples": accepted.samples,
                "rate": accepted.rate,
                "duplicate": accepted.duplicate,
            },
            202,
        )

    @app.get("/calls/{call_id}/recordings", response_model=list[models.Manifest],
             tags=["audio"])
    def get_recordings(call_id: CallIdPath, request: Request) -> JSONResponse:
        """The manifests of the call's recordings, by number, finished or not."""
        documents = library.recordings(desk, call_id)
        if reads is not None:
            reads.record(request, call_id, ReadKind.RECORDINGS)
        return JSONResponse(documents)

    @app.get(WAV_PATH, response_class=Response, responses=WAV_RESPONSES, tags=["audio"])
    def get_wav(call_id: CallIdPath, recording_no: int, request: Request) -> Response:
        """A closed recording as a WAV file, 16-bit PCM mono (an open one is 409, a deleted
        one 410)."""
        response = _wav(request, call_id, recording_no)
        if reads is not None and response.status_code in (200, 206) and \
                _from_first_byte(request.headers.get("range")):
            reads.record(request, call_id, ReadKind.AUDIO, recording_no)
        return response

    @app.head(WAV_PATH, response_class=Response, responses=WAV_RESPONSES, tags=["audio"])
    def head_wav(call_id: CallIdPath, recording_no: int, request: Request) -> Response:
        """The headers of the WAV file's GET, without its body."""
        return _wav(request, call_id, recording_no)

    def _wav(request: Request, call_id: str, recording_no: int) -> Response:
        stored = library.wav(desk, call_id, recording_no)
        return download.serve(request, stored, filename=f"{call_id}-{recording_no}.wav",
                              media_type="audio/wav")


def _from_first_byte(range_header: str | None) -> bool:
    """Whether a GET reads the file from its start (no Range, or one from byte 0)."""
    if range_header is None:
        return True
    return range_header.replace(" ", "").lower().startswith("bytes=0-")


WAV_PATH = "/calls/{call_id}/recordings/{recording_no}.wav"
WAV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the closed recording as a WAV file, 16-bit PCM mono",
          "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}},
    206: {"description": "the byte range asked for with Range",
          "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}},
    304: {"description": "If-None-Match names the file's ETag"},
}

# The route reads its query and body itself (raw PCM); this documents them.
AUDIO_REQUEST: dict[str, Any] = {
    "parameters": [
        {"name": "at", "in": "query", "required": True,
         "description": "the media time of the first sample (RFC 3339 with an offset)",
         "schema": {"type": "string", "format": "date-time"}},
        {"name": "rate", "in": "query", "required": True,
         "description": "the sample rate in Hz",
         "schema": {"type": "integer", "enum": list(SUPPORTED_RATES)}},
    ],
    "requestBody": {
        "required": True,
        "description": "raw PCM: signed 16-bit little-endian mono samples",
        "content": {"audio/L16": {"schema": {"type": "string", "format": "binary"}}},
    },
}


def check_content_type(header: str | None) -> dict[str, str]:
    """The media type must be audio/L16 (mono); returns its parameters."""
    if header is None:
        raise UnsupportedMediaType("send the audio with Content-Type: audio/L16")
    media, *params = [p.strip() for p in header.split(";")]
    if media.lower() != MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"content type {media!r} is not supported; send raw PCM as audio/L16 "
            "(signed 16-bit little-endian mono)"
        )
    options = dict(p.lower().split("=", 1) for p in params if "=" in p)
    if options.get("channels", "1") != "1":
        raise UnsupportedMediaType("only mono audio (channels=1) is accepted")
    return options


def parse_at(raw: str | None) -> datetime:
    if not raw:
        raise InvalidAudio("at", "required: the media time of the first sample (RFC 3339)")
    try:
        at = _TIMESTAMP.validate_python(raw)
    except ValidationError:
        raise InvalidAudio("at", "must be the media time of the first sample, as an RFC 3339 "
                                 "time with an offset, e.g. 2026-03-01T09:30:00.000Z") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidAudio("at", "must carry an offset, e.g. 2026-03-01T09:30:00.000Z")
    problem = in_range(at)
    if problem is not None:
        raise InvalidAudio("at", problem)
    return at


def parse_rate(raw: str | None, declared: dict[str, str]) -> int:
    rates = " or ".join(str(r) for r in SUPPORTED_RATES)
    if not raw:
        raise InvalidAudio("rate", f"required: the sample rate in Hz, {rates}")
    if not raw.isdigit() or int(raw) not in SUPPORTED_RATES:
        raise InvalidAudio("rate", f"must be the sample rate in Hz, {rates}")
    if declared.get("rate", raw) != raw:
        raise InvalidAudio("rate", "the content type's rate differs from the rate parameter")
    return int(raw)


async def read_body(request: Request, limit: int) -> bytes:
    pieces, size = [], 0
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise ChunkTooLarge(f"a chunk may hold at most {limit} bytes of audio")
        pieces.append(piece)
    body = b"".join(pieces)
    if not body:
        raise InvalidAudio("body", "holds no samples")
    if len(body) % SAMPLE_BYTES:
        raise InvalidAudio("body", f"{len(body)} bytes is not a whole number of 16-bit samples")
    return body

