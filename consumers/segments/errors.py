"""Errors of the segment store, one root, classified by what the caller should do.

`AudioRefused` errors refuse an ingestion or a read: the request is refused as
sent and nothing was held or written; the entry point decides how to answer each.
`StoreFailure` means the storage itself failed: retry later.
"""

from __future__ import annotations


class SegmentError(Exception):
    """Root of every error the segment store raises on purpose."""


class StoreFailure(SegmentError):
    """Reading or writing the storage failed; nothing was half-written. Retry later."""


class InvalidKey(SegmentError, ValueError):
    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"invalid object key {key!r}: {why}")


class AudioRefused(SegmentError):
    """The request is refused as sent; nothing was held or written."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class InvalidAudio(AudioRefused):
    """A parameter or the body is malformed (`fields` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", fields=[field])


class UnsupportedMediaType(AudioRefused):
    """The audio is not sent as mono 16-bit linear PCM."""


class ChunkTooLarge(AudioRefused):
    """One chunk holds more audio than a call may have waiting."""


class BacklogFull(AudioRefused):
    """Too much audio is waiting for its recording state: retry once some is decided."""


class AudioOverlap(AudioRefused):
    """The chunk covers time for which the call already has audio."""


class RateMismatch(AudioRefused):
    """The chunk's sample rate differs from the call's."""


class CallAudioEnded(AudioRefused):
    """The call has ended and all its audio is decided."""


class FutureAudio(AudioRefused):
    """The chunk is dated later than the server clock allows."""


class AudioBeforeCall(AudioRefused):
    """The chunk starts before its call started: no state could ever keep it."""


class UnknownRecording(AudioRefused):
    """The call has no recording of that number."""


class RecordingOpen(AudioRefused):
    """The recording is still open: its audio is served once it is closed."""


class RecordingGone(AudioRefused):
    """The recording's audio was deleted (retention or erasure); its manifest remains."""


class RangeNotSatisfiable(AudioRefused):
    """The byte range asked for of a recording's file starts beyond its end."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size
