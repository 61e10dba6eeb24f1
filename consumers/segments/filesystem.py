"""The filesystem adapter of the segment store (the default, under the data directory).

A `put` writes a temporary file next to its target (`.<name>.<random>.tmp`),
fsyncs it, renames it over the target and fsyncs the directory, so a crash
leaves either the old object or the new one, plus at most a temporary file that
`recover()` removes. Directories created on the way are fsynced into their
parents. Long runs of zero bytes (the silence of a recording whose audio never came)
are left as holes in the file rather than written: the file reads the same, and
costs neither the writes nor the disk space. Every change to the disk goes through a
`FileOps`, so a test can watch each byte written, temporary files included.

Inside `batched()`, the directory fsyncs of every put are gathered and done once per
directory when the batch is flushed: a round of the desk pays one per directory instead
of one per object, and a put made there is durable once the batch is flushed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from consumers.segments.errors import StoreFailure
from consumers.segments.port import Data, Silence, check_key

TEMP_SUFFIX = ".tmp"
READ_PIECE = 1 << 16
HOLE_MIN = 1 << 12  # zero runs at least this long are skipped over, not written


class FileOps(Protocol):
    """The operating-system calls the adapter changes the disk with."""

    def create(self, path: str) -> int: ...
    def write(self, fd: int, data: bytes) -> int: ...
    def fsync(self, fd: int) -> None: ...
    def close(self, fd: int) -> None: ...
    def replace(self, src: str, dst: str) -> None: ...
    def unlink(self, path: str) -> None: ...
    def mkdir(self, path: str) -> None: ...
    def rmdir(self, path: str) -> None: ...
    def fsync_dir(self, path: str) -> None: ...


class OsFileOps:
    def create(self, path: str) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    def write(self, fd: int, data: bytes) -> int:
        if len(data) >= HOLE_MIN and (isinstance(data, Silence) or data.count(0) == len(data)):
            os.lseek(fd, len(data), os.SEEK_CUR)  # a hole; `fsync` sets the file's size
            return len(data)
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        end = os.lseek(fd, 0, os.SEEK_CUR)
        if end > os.fstat(fd).st_size:  # the file ends in a hole
            os.ftruncate(fd, end)
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def mkdir(self, path: str) -> None:
        os.mkdir(path, 0o755)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FilesystemSegmentStore:
    def __init__(self, root: Path, ops: FileOps | None = None) -> None:
        self.root = Path(root)
        self.ops: FileOps = ops or OsFileOps()
        self._deferred: set[str] | None = None  # directories to fsync, inside `batched`

    # -- writing ----------------------------------------------------------------

    def put(self, key: str, data: Data) -> int:
        path = self._path(key)
        try:
            self._ensure_dir(path.parent)
            temp = path.parent / f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
            pieces: Iterable[bytes] = [data] if isinstance(data, bytes) else data
            written = self._write_temp(temp, pieces)
            self.ops.replace(str(temp), str(path))
            self._sync_dir(str(path.parent))
        except OSError as exc:
            raise StoreFailure(f"could not store {key!r}: {exc}") from exc
        return written

    def _write_temp(self, temp: Path, pieces: Iterable[bytes]) -> int:
        fd = self.ops.create(str(temp))
        written = 0
        try:
            for piece in pieces:
                count = self.ops.write(fd, piece)  # as given, so a Silence is known as one
                written += count
                view = memoryview(piece)[count:]
                while view:  # what a short write left
                    count = self.ops.write(fd, bytes(view))
                    view = view[count:]
                    written += count
            self.ops.fsync(fd)
        except BaseException:
            self.ops.close(fd)
            self.ops.unlink(str(temp))
            raise
        self.ops.close(fd)
        return written

    def _ensure_dir(self, directory: Path) -> None:
        missing = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            try:
                self.ops.mkdir(str(path))
            except FileExistsError:
                continue
            self._sync_dir(str(path.parent))

    def _sync_dir(self, path: str) -> None:
        if self._deferred is None:
            self.ops.fsync_dir(path)
        else:
            self._deferred.add(path)

    @contextmanager
    def batched(self) -> Iterator[Callable[[], None]]:
        """Puts whose directory fsyncs wait for the flush this yields (and for the end of
        the block); only the writer that holds the batch may put meanwhile."""
        self._deferred = set()
        try:
            yield self._flush
            self._flush()
        finally:
            self._deferred = None

    def _flush(self) -> None:
        """Make every put of the batch so far durable."""
        pending, self._deferred = self._deferred or set(), set()
        try:
            for path in sorted(pending):
                self.ops.fsync_dir(path)
        except OSError as exc:
            raise StoreFailure(f"could not sync {path!r}: {exc}") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            self.ops.unlink(str(path))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreFailure(f"could not delete {key!r}: {exc}") from exc
        self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        """Remove directories left empty by deletes (up to, not including, the root)."""
        while directory != self.root and self.root in directory.parents:
            try:
                self.ops.rmdir(str(directory))
            except OSError:
                return
            directory = directory.parent

    def recover(self) -> int:
        if not self.root.is_dir():
            return 0
        leftovers = [p for p in self.root.rglob(f".*{TEMP_SUFFIX}") if p.is_file()]
        for path in leftovers:
            self.ops.unlink(str(path))
        return len(leftovers)

    def purge(self, prefix: str, keep: str | None = None) -> int:
        directory = self._path(prefix.rstrip("/"))
        if not directory.is_dir():
            return 0
        kept = None if keep is None else self._path(keep)
        doomed = sorted((p for p in directory.rglob("*") if p.is_file() and p != kept),
                        reverse=True)
        for path in doomed:
            try:
                self.ops.unlink(str(path))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreFailure(f"could not delete {path.name!r} under {prefix!r}: "
                                   f"{exc}") from exc
        for path in sorted((p for p in directory.rglob("*") if p.is_dir()), reverse=True):
            self._prune(path)
        if kept is None:
            self._prune(directory)
        if doomed:
            self.ops.fsync_dir(str(directory if directory.is_dir() else directory.parent))
        return len(doomed)

    # -- reading ----------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def stream(self, key: str, start: int = 0, length: int | None = None
               ) -> Iterator[bytes] | None:
        try:
            handle = self._path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError):
            return None
        handle.seek(start)
        return _pieces(handle, length)

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def keys(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        base = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            if path.name.startswith(".") or not path.is_file():
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                found.append(key)
        return sorted(found)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)


def _pieces(handle: BinaryIO, length: int | None) -> Iterator[bytes]:
    with handle:
        remaining = length
        while remaining is None or remaining > 0:
            piece = handle.read(READ_PIECE if remaining is None else min(READ_PIECE, remaining))
            if not piece:
                return
            if remaining is not None:
                remaining -= len(piece)
            yield piece
