"""A local folder of the pieces fetched from remote files, bounded in size.

Each version of each remote file (its URL and validators: entity tag or
modification time, and size) has a folder of its own, so a file replaced on the
server is never served from pieces of the old one. Entries are written to a
temporary name and renamed, so processes sharing the folder (dataloader workers)
never read a partial entry; when the folder grows past its bound, the entries
used longest ago are removed. A missing or unreadable entry is just fetched again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Final

from mlarray.errors import MetaValidationError
from mlarray_meta._remote import Validators
from mlarray_meta.errors import RemoteFileWarning

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "MEMORY",
    "MEMORY_BYTES",
    "BlockCache",
    "FileCache",
    "MemoryPieces",
    "Pieces",
    "version_key",
]

DEFAULT_CACHE_BYTES: Final = 4 * 2**30
"""Default bound of a :class:`BlockCache` (4 GiB)."""
MEMORY_BYTES: Final = 128 * 2**20
"""Bound of the pieces of remote files each process keeps in memory."""
_KEEP_AFTER_EVICTION: Final = 0.8


def version_key(url: str, validators: Validators) -> str:
    """A name for one version of one remote file (its URL and validators)."""
    version = f"{url}\0{validators.etag}\0{validators.modified}\0{validators.size}"
    return hashlib.sha256(version.encode()).hexdigest()[:32]


class BlockCache:
    """A local folder caching the pieces (chunk headers, blocks, chunks) of remote files.

    Pass it to :meth:`MLArray.open <mlarray.MLArray.open>` as ``cache=``; every
    process opening the same file with the same folder shares the entries.

    Args:
        directory: The folder (created when missing).
        max_bytes: Bound on the folder's size: past it, the entries used longest ago
            are removed.

    Raises:
        ValueError: ``max_bytes`` is not positive (MetaValidationError).
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, max_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise MetaValidationError(f"max_bytes: expected a positive integer, got {max_bytes!r}")
        self.directory = Path(directory).expanduser()
        self.max_bytes = max_bytes
        self._used: int | None = None  # bytes in the folder, as far as this process knows

    def __repr__(self) -> str:
        return f"BlockCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild, (str(self.directory), self.max_bytes)

    def for_file(self, url: str, validators: Validators) -> FileCache | None:
        """The entries of one version of one file; None (with a warning) if it has no version.

        A server that sends neither an entity tag nor a modification time gives no
        way to tell a replaced file from the one cached, so nothing is cached for it.
        """
        if validators.etag is None and validators.modified is None:
            warnings.warn(
                f"{url}: the server sends no ETag or Last-Modified, so a changed file "
                "cannot be told from the cached one: the block cache is not used for it",
                RemoteFileWarning,
                stacklevel=4,
            )
            return None
        return FileCache(self, self.directory / version_key(url, validators))

    def added(self, nbytes: int) -> None:
        """Count an entry written; remove the oldest entries once past the bound."""
        if self._used is None:
            self._used = sum(size for _, _, size in self._entries())
        self._used += nbytes
        if self._used > self.max_bytes:
            self._evict()

    def _entries(self) -> list[tuple[float, Path, int]]:
        found = []
        for folder, _, names in os.walk(self.directory):
            for name in names:
                path = Path(folder) / name
                try:
                    info = path.stat()
                except OSError:
                    continue  # removed meanwhile by another process
                found.append((info.st_mtime, path, info.st_size))
        return found

    def _evict(self) -> None:
        entries = sorted(self._entries())
        used = sum(size for _, _, size in entries)
        target = self.max_bytes * _KEEP_AFTER_EVICTION
        for _, path, size in entries:
            if used <= target:
                break
            with contextlib.suppress(OSError):  # another process removed it first
                path.unlink()
            used -= size
        self._used = used


def _rebuild(directory: str, max_bytes: int) -> BlockCache:
    return BlockCache(directory, max_bytes=max_bytes)


class FileCache:
    """The cached entries of one version of one remote file.

    Args:
        owner: The cache folder it belongs to (it keeps the size bound).
        folder: This file's folder within it.
    """

    def __init__(self, owner: BlockCache, folder: Path) -> None:
        self._owner = owner
        self._folder = folder

    def get(self, key: str) -> bytes | None:
        """The entry ``key``, or None; a hit marks it as recently used."""
        path = self._folder / key
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            return None
        return data

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` as entry ``key`` (atomically; a full disk only skips caching).

        An entry of more than a quarter of the bound is not stored: it would push
        out most of what the folder holds.
        """
        if len(data) > self._owner.max_bytes // 4:
            return
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            handle, staging = tempfile.mkstemp(dir=self._folder, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(staging, self._folder / key)
            except BaseException:
                Path(staging).unlink(missing_ok=True)
                raise
        except OSError:
            return
        self._owner.added(len(data))


class MemoryPieces:
    """The pieces fetched most recently, kept in memory (one store per process, bounded).

    Keys are ``(file version, piece)``; reads of overlapping or neighbouring
    patches then fetch nothing again.

    Args:
        max_bytes: Bound on the bytes held.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pieces: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        """The piece, or None; a hit marks it as recently used."""
        with self._lock:
            data = self._pieces.get(key)
            if data is not None:
                self._pieces.move_to_end(key)
            return data

    def clear(self) -> None:
        """Forget every piece."""
        with self._lock:
            self._pieces.clear()
            self._used = 0

    def put(self, key: tuple[str, str], data: bytes) -> None:
        """Keep a piece, dropping the pieces used longest ago beyond the bound."""
        if len(data) > self.max_bytes // 4:
            return  # one piece may not push out everything else
        with self._lock:
            old = self._pieces.pop(key, None)
            self._used += len(data) - (0 if old is None else len(old))
            self._pieces[key] = data
            while self._used > self.max_bytes:
                _, dropped = self._pieces.popitem(last=False)
                self._used -= len(dropped)


MEMORY: Final = MemoryPieces(MEMORY_BYTES)
"""The pieces of remote files kept in memory by this process."""


class Pieces:
    """Where a remote file's fetched pieces are looked up: memory, then the block cache.

    Args:
        version: Names the file's URL and version (keys of the memory store).
        disk: The block cache of this file, or None.
    """

    def __init__(self, version: str, disk: FileCache | None) -> None:
        self._version = version
        self._disk = disk

    def get(self, key: str) -> bytes | None:
        """The piece ``key`` if kept in memory or on disk."""
        data = MEMORY.get((self._version, key))
        if data is None and self._disk is not None:
            data = self._disk.get(key)
            if data is not None:
                MEMORY.put((self._version, key), data)
        return data

    def put(self, key: str, data: bytes) -> None:
        """Keep a piece just fetched, in memory and in the block cache."""
        MEMORY.put((self._version, key), data)
        if self._disk is not None:
            self._disk.put(key, data)
