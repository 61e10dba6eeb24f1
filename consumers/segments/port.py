"""The segment store port: immutable objects under string keys, written whole and atomically.

This is all the segment consumer asks of its storage, so an object store (S3,
GCS) fits behind it as well as a filesystem: a reader sees an object entirely
or not at all, a `put` that returns is durable, and nothing is ever appended to
or changed in place. Keys are `/`-separated paths of non-empty parts; a part
may not start with `.` (adapters keep their temporary names there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from consumers.segments.errors import InvalidKey

Data = bytes | Iterable[bytes]


class Silence(bytes):
    """A piece of data known to be all zero bytes (the silence of a recording): a store
    may skip over it without looking at it."""


class SegmentStore(Protocol):
    def put(self, key: str, data: Data) -> int:
        """Store `data` (bytes, or pieces streamed in order) under `key`, replacing any
        object there, atomically and durably. Returns the number of bytes stored."""
        ...

    def get(self, key: str) -> bytes | None:
        """The whole object, or None if there is none."""
        ...

    def stream(self, key: str, start: int = 0, length: int | None = None
               ) -> Iterator[bytes] | None:
        """The object in pieces, or None if there is none: `length` bytes (all the rest
        if None) from byte `start`, fewer if the object ends first."""
        ...

    def size(self, key: str) -> int | None: ...

    def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with `prefix`, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def recover(self) -> int:
        """Remove what an interrupted `put` left behind; returns how many leftovers."""
        ...

    def purge(self, prefix: str, keep: str | None = None) -> int:
        """Remove every object under `prefix` (a key ending in `/`) but `keep`, and
        whatever an interrupted `put` left there; returns how many were removed."""
        ...


def batched(store: SegmentStore) -> AbstractContextManager[Callable[[], None]]:
    """The store's `batched()` if it offers one (puts made durable together, by the flush
    it yields and at the end of the block), else puts that are each durable on return."""
    offered = getattr(store, "batched", None)
    if offered is None:
        return nullcontext(_nothing)
    manager: AbstractContextManager[Callable[[], None]] = offered()
    return manager


def _nothing() -> None:
    pass


def check_key(key: str) -> str:
    if not key:
        raise InvalidKey(key, "it is empty")
    for part in key.split("/"):
        if not part:
            raise InvalidKey(key, "it has an empty part")
        if part.startswith("."):
            raise InvalidKey(key, "a part may not start with '.'")
        if "\x00" in part or "\\" in part:
            raise InvalidKey(key, "it contains a NUL or a backslash")
    return key
