"""A ``.mla`` file held open: its header and its data come from one and the same file.

Opening by path several times (once for the header, once for the checks, once
for blosc2) could pair the header of one file with the data of another when a
``save`` renames a new file over the path in between. Here the path is opened
once: the header is read from that descriptor, then either the file is mapped
into memory and blosc2 reads the mapping (:class:`MappedFile`, ``mmap_mode='r'``
and ``'c'``, and the unchanged part of a writable open), or the descriptor stays
open and blosc2 reads through it (:class:`DescriptorFile`, ``mmap_mode=None``).
Either way a replacement of the path cannot interleave, and nothing is retried.
"""

from __future__ import annotations

import mmap
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray._file_metadata import header_of_frame
from mlarray._frame_check import buffer_reader, check_frame, check_frame_kind, descriptor_reader
from mlarray._prefetch import ChunkExtents, Prefetcher, advised, will_need
from mlarray.errors import FileFormatError, MLArrayError, MLArrayFileError, UnsafeMetadataError
from mlarray_meta.format import parse_frame, read_frame_descriptor
from mlarray_meta.header import Header

__all__ = [
    "DescriptorFile",
    "MappedFile",
    "OpenedFile",
    "load_checked",
    "open_file",
    "read_errors",
]

_FD_FOLDER = Path("/dev/fd")


@contextmanager
def read_errors(path: Path, action: str) -> Iterator[None]:
    """Turn blosc2's exceptions while reading ``path`` into errors naming the file."""
    try:
        yield
    except MLArrayError:
        raise  # already ours: it names its cause
    except blosc2.exceptions.UnsafeDeserializationError as exc:
        raise UnsafeMetadataError(f"{path}: refused unsafe content while {action}: {exc}") from exc
    except OSError as exc:
        raise MLArrayFileError(f"{path}: {action} failed: {exc}") from exc
    except (RuntimeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise FileFormatError(f"{path}: {action} failed, not a valid .mla file? ({exc})") from exc


def _open_descriptor(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY)
    except IsADirectoryError:
        raise MLArrayFileError(f"{path}: is a directory, expected a .mla file") from None
    except OSError as exc:
        raise MLArrayFileError(f"{path}: cannot open the file: {exc.strerror}") from None


def _read_header(fd: int, path: Path) -> Header:
    header = header_of_frame(read_frame_descriptor(fd, source=str(path)))
    check_frame_kind(path, header.mapping.frame)
    return header


class MappedFile:
    """A file mapped into memory, read-only; blosc2 reads its chunks from the mapping.

    Attributes:
        path: The path it was opened by (named in errors).
        header: Its header, read from the same file.
        buffer: The mapping of the whole file.
        identity: Device and inode of the file: a path that no longer has them
            names another file.
    """

    def __init__(
        self, path: Path, header: Header, buffer: mmap.mmap, identity: tuple[int, int]
    ) -> None:
        self.path = path
        self.header = header
        self.buffer = buffer
        self.identity = identity
        self._extents: ChunkExtents | None = None
        self._random = False  # advised for patch reads (a Prefetcher exists)

    def check(self) -> ChunkExtents:
        """Check the frame before blosc2 reads it (or a copy of it); return the chunks' extents.

        The pages holding the chunk headers are asked for all at once, and no more
        is read around each than its page (the kernel's read-ahead around every
        header would read most of the file from disk).

        Raises:
            FileFormatError: The chunk index or a chunk header is damaged.
        """
        with advised(self.buffer, random=True, restore=self._random):
            self._extents = check_frame(
                self.path,
                self.header.mapping.frame,
                buffer_reader(self.buffer),
                ahead=partial(will_need, self.buffer),
            )
        return self._extents

    def prefetcher(self, store: Any) -> Prefetcher:
        """Read ``store``, this file's array, through a prefetcher from now on."""
        extents = self._extents if self._extents is not None else self.check()
        self._random = True
        return Prefetcher(self.buffer, extents, store.shape, store.chunks, store.dtype.itemsize)

    def array(self, dparams: dict[str, Any]) -> Any:
        """Check the frame, then return the Blosc2 NDArray reading the mapping (no copy).

        Raises:
            FileFormatError: The chunk index or a chunk header is damaged.
        """
        self.check()
        with read_errors(self.path, "opening"):
            store = blosc2.ndarray_from_cframe(self.buffer, copy=False, deserialize="safe")
            store.schunk.dparams = blosc2.DParams(**dparams)
        return store

    def copy_into(self, fd: int) -> None:
        """Write the whole file to the descriptor ``fd`` (a working copy).

        Raises:
            OSError: The write failed (disk full, ...).
        """
        whole = advised(self.buffer, random=False, restore=self._random)
        with whole, memoryview(self.buffer) as view:
            done = 0
            while done < len(view):
                done += os.write(fd, view[done : done + (16 << 20)])


class DescriptorFile:
    """A file kept open as a descriptor; blosc2 reads it with standard I/O through it.

    Attributes:
        path: The path it was opened by (named in errors).
        header: Its header, read from the same descriptor.
    """

    def __init__(self, path: Path, header: Header, fd: int) -> None:
        self.path = path
        self.header = header
        self._fd = fd
        weakref.finalize(self, os.close, fd)

    def array(self, dparams: dict[str, Any]) -> Any:
        """Check the frame, then return the Blosc2 NDArray reading through the descriptor.

        Raises:
            FileFormatError: The chunk index or a chunk header is damaged.
        """
        check_frame(self.path, self.header.mapping.frame, descriptor_reader(self._fd))
        # Blosc2 opens a path: /dev/fd/N is the file this descriptor holds, even when
        # the path now names another one. (Blosc2 keeps its own descriptor; the
        # handle keeps this object, and so this descriptor, for good measure.)
        with read_errors(self.path, "opening"):
            return blosc2.open(
                str(_FD_FOLDER / str(self._fd)), mode="r", dparams=dparams, deserialize="safe"
            )


OpenedFile = MappedFile | DescriptorFile


def open_file(path: Path, *, mapped: bool) -> OpenedFile:
    """Open ``path`` once and read its header from that file.

    Args:
        path: The ``.mla`` file.
        mapped: Map it into memory (True), or keep a descriptor for standard I/O
            (False; where the system has no ``/dev/fd``, it is mapped anyway).

    Raises:
        MLArrayFileError: The file is missing, a directory, or unreadable.
        FileFormatError: The header or metadata is invalid (or unsafe).
    """
    fd = _open_descriptor(path)
    try:
        header = _read_header(fd, path)
        if not mapped and _FD_FOLDER.is_dir():
            opened: OpenedFile = DescriptorFile(path, header, fd)
            fd = -1  # owned by the DescriptorFile now
            return opened
        info = os.fstat(fd)
        try:
            buffer = mmap.mmap(fd, info.st_size, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise MLArrayFileError(f"{path}: cannot map the file: {exc.strerror}") from exc
        return MappedFile(path, header, buffer, (info.st_dev, info.st_ino))
    finally:
        if fd >= 0:
            os.close(fd)


def load_checked(path: Path, *, dparams: dict[str, Any]) -> tuple[Header, Any]:
    """Read a whole file once, check its frame, then build an in-memory array from the bytes.

    Raises:
        MLArrayFileError: The file is missing or unreadable.
        FileFormatError: The file is not a valid ``.mla`` file (or is unsafe).
    """
    try:
        with open(path, "rb", buffering=0) as file:
            size = os.fstat(file.fileno()).st_size
            # np.empty, not bytearray: no zero-filling, and huge pages for large files.
            data = np.empty(size, dtype=np.uint8)
            with data.data as view:
                done = 0
                while done < size:  # one read returns at most about 2 GiB
                    count = file.readinto(view[done:])
                    if not count:
                        raise FileFormatError(f"{path}: the file shrank while it was read")
                    done += count
    except OSError as exc:
        raise MLArrayFileError(f"{path}: cannot read the file: {exc.strerror}") from None
    header = header_of_frame(parse_frame(data.data, source=str(path)))
    check_frame(path, header.mapping.frame, buffer_reader(data.data))
    with read_errors(path, "loading"):
        # The array borrows ``data`` (no copy). Blosc2 cannot grow a borrowed frame:
        # callers must give the array its own frame (``.copy()``) before writing.
        store = blosc2.ndarray_from_cframe(data, copy=False)
        store.schunk.dparams = blosc2.DParams(**dparams)
    return header, store
