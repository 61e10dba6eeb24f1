"""Errors of the segment store, one root, classified by what the caller should do.

`AudioRefused` errors answer an ingestion or a read: the request is refused as
sent and nothing was held or written; each carries its HTTP status and code.
`StoreFailure` means the storage itself failed: retry later.
"""

from __future__ import annotations


class SegmentError(Exception):
    """Root of every error the segment store raises on purpose."""


class StoreFailure(SegmentError):
    """Reading or writing the storage failed; nothing was half-written. Retry later."""

    retriable = True


class InvalidKey(SegmentError, ValueError):
    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"invalid object key {key!r}: {why}")


class AudioRefused(SegmentError):
    """The request is refused as sent; nothing was held or written."""

    status = 409
    code = "audio_refused"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class InvalidAudio(AudioRefused):
    status = 422
    code = "invalid_request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", fields=[field])


class UnsupportedMediaType(AudioRefused):
    status = 415
    code = "unsupported_media_type"


class ChunkTooLarge(AudioRefused):
    status = 413
    code = "chunk_too_large"


class BacklogFull(AudioRefused):
    """Too much audio is waiting for its recording state: retry once some is decided."""

    status = 429
    code = "audio_backlog_full"
    retriable = True


class AudioOverlap(AudioRefused):
    code = "audio_overlap"


class RateMismatch(AudioRefused):
    code = "rate_mismatch"


class CallAudioEnded(AudioRefused):
    code = "call_ended"


class FutureAudio(AudioRefused):
    code = "future_timestamp"


class UnknownRecording(AudioRefused):
    status = 404
    code = "unknown_recording"
