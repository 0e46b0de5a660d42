"""Checks of a ``.mla`` frame that must pass before blosc2 opens it.

The standard-library reader (:func:`mlarray_meta.format.read_frame`) has already
checked the frame's header and trailer. Blosc2 goes on to trust more than that:
it builds whatever object the fixed metalayers ask for (proxies that open other
files, lazy expressions, stores), interprets the chunk bytes with the dtype of
the ``b2nd`` metalayer (an object dtype turns bytes into pointers), and follows
the chunk index and each chunk header without checking them against the frame
(a damaged one crashes the interpreter). :func:`check_frame` checks all of that.
"""

from __future__ import annotations

import ast
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray._prefetch import ChunkExtents
from mlarray.errors import FileFormatError, MLArrayFileError, UnsafeMetadataError
from mlarray_meta.format import FrameInfo
from mlarray_meta.format._chunk import HEADER_SIZE, check_chunk_header

__all__ = [
    "ARRAY_METALAYERS",
    "Announcer",
    "Reader",
    "buffer_reader",
    "check_frame",
    "check_frame_kind",
    "chunk_offsets",
    "descriptor_reader",
    "parse_dtype",
    "special_kind",
]

ARRAY_METALAYERS = frozenset({"b2nd"})
"""The fixed metalayers of a plain Blosc2 NDArray frame: all a ``.mla`` file may have."""

_OFFSET_SIZE = 8
# How a frame's chunk index marks a chunk stored as a run of one value instead of
# an offset: bit 63 plus the kind (zeros 1, NaNs 2, uninitialized 4) in bits 56-62.
_SPECIAL_OFFSETS = frozenset(-(2**63) + (kind << 56) for kind in (1, 2, 4))
Reader = Callable[[int, int], bytes]
"""Reads ``size`` bytes at ``offset``: ``read(offset, size)``."""
Announcer = Callable[[list[tuple[int, int]]], None]
"""Told byte ranges ``(start, stop)`` of a file that are about to be read."""


def check_frame_kind(path: str | Path, frame: FrameInfo) -> None:
    """Check, from the header alone, that the frame is a plain array blosc2 may open.

    The cheap part of :func:`check_frame`, done when a file is opened; the chunk
    index and chunk headers are checked before blosc2 touches the data.

    Raises:
        UnsafeMetadataError: A fixed metalayer other than ``b2nd`` (it would make
            blosc2 build another kind of object), or a dtype holding Python objects.
        FileFormatError: The dtype is unreadable or disagrees with the item size.
    """
    foreign = sorted(set(frame.metalayers) - ARRAY_METALAYERS)
    if foreign:
        raise UnsafeMetadataError(
            f"{path}: fixed metalayers {foreign} would make blosc2 open something other "
            "than a plain array (a proxy, lazy expression or store); refused"
        )
    _check_dtype(path, frame)


def check_frame(
    path: Path, frame: FrameInfo, read: Reader, *, ahead: Announcer | None = None
) -> ChunkExtents:
    """Check the metalayers, dtype, chunk index and chunk headers of a frame.

    Args:
        path: The file (named in error messages).
        frame: Its header and trailer as read by :func:`mlarray_meta.format.read_frame`.
        read: Reads ``size`` bytes at ``offset`` of the same file (see
            :func:`buffer_reader` and :func:`descriptor_reader`): one read for the
            index, one per chunk header.
        ahead: Told the byte ranges ``(start, stop)`` of all chunk headers before
            the first is read (a mapping asks the kernel for them all at once).

    Returns:
        Where each chunk is stored in the file.

    Raises:
        UnsafeMetadataError: A fixed metalayer other than ``b2nd`` (it would make
            blosc2 build another kind of object), or a dtype holding Python objects.
        FileFormatError: The dtype is unreadable or disagrees with the item size,
            or the chunk index or a chunk header is damaged.
        MLArrayFileError: The file cannot be read.
    """
    check_frame_kind(path, frame)
    if frame.nchunks == 0:
        return ChunkExtents([], [])
    try:
        return _check_chunks(path, frame, read, ahead)
    except OSError as exc:
        raise MLArrayFileError(f"{path}: cannot read the file: {exc}") from exc


def buffer_reader(data: bytes | memoryview | mmap.mmap) -> Reader:
    """Read from a frame held in memory (a mapped file, a loaded file)."""
    view = memoryview(data).cast("B")
    return lambda offset, size: view[offset : offset + size].tobytes()


def descriptor_reader(fd: int) -> Reader:
    """Read with positioned reads from an open file descriptor."""
    return lambda offset, size: os.pread(fd, size, offset)


def parse_dtype(text: str) -> np.dtype[Any]:
    """Parse a b2nd dtype string the way blosc2 does, without ever evaluating code.

    Structured dtypes are stored as the text of their ``descr`` list.
    """
    try:
        dtype: np.dtype[Any] = np.dtype(text)
    except (TypeError, ValueError):
        dtype = np.dtype(ast.literal_eval(text))
    return dtype


def _check_dtype(path: str | Path, frame: FrameInfo) -> None:
    try:
        dtype = parse_dtype(frame.dtype)
    except (TypeError, ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise FileFormatError(
            f"{path}: b2nd metalayer: dtype: expected a NumPy dtype, found {frame.dtype!r:.80} "
            f"({type(exc).__name__})"
        ) from None
    if dtype.hasobject:
        raise UnsafeMetadataError(
            f"{path}: b2nd metalayer: dtype {frame.dtype!r:.80} holds Python objects; "
            "reading it would turn file bytes into pointers, refused"
        )
    if dtype.itemsize != frame.typesize:
        raise FileFormatError(
            f"{path}: b2nd metalayer: dtype {frame.dtype!r:.80} has items of "
            f"{dtype.itemsize} bytes, the frame's typesize is {frame.typesize}"
        )


def special_kind(offset: int) -> int | None:
    """The kind of value run a chunk-index entry stands for (zeros 1, NaNs 2, uninitialized 4).

    None for an entry that is an offset: the chunk's bytes are stored there.
    """
    return (offset >> 56) & 0x7F if offset in _SPECIAL_OFFSETS else None


def chunk_offsets(source: str | Path, frame: FrameInfo, read: Reader) -> list[int]:
    """Read and check a frame's chunk index; return one entry per chunk.

    Each entry is the chunk's offset from the end of the frame header, or a marker
    of a chunk stored as a run of one value (see :func:`special_kind`).

    Raises:
        FileFormatError: The index cannot be decompressed, has the wrong size, or
            points outside the frame's chunks.
    """
    index_start = frame.header_length + frame.cbytes
    trailer_start = frame.frame_length - frame.trailer_length
    index_nbytes = frame.nchunks * _OFFSET_SIZE
    index_cbytes = check_chunk_header(
        read(index_start, HEADER_SIZE),
        source=f"{source}: chunk index",
        typesize=None,
        nbytes=index_nbytes,
        room=trailer_start - index_start,
    )
    try:  # decompress2 bounds every read by the buffer's size (decompress does not);
        # one thread: starting a thread pool costs more than this tiny chunk
        raw = blosc2.decompress2(read(index_start, index_cbytes), nthreads=1)
    except (RuntimeError, ValueError) as exc:
        raise FileFormatError(f"{source}: chunk index cannot be decompressed: {exc}") from None
    if len(raw) != index_nbytes:
        raise FileFormatError(
            f"{source}: chunk index: expected {index_nbytes} bytes, found {len(raw)}"
        )
    offsets: list[int] = np.frombuffer(raw, dtype="<i8").tolist()
    for number, offset in enumerate(offsets):
        if offset not in _SPECIAL_OFFSETS and not 0 <= offset <= frame.cbytes - HEADER_SIZE:
            raise FileFormatError(
                f"{source}: chunk index: chunk {number} at offset {offset} lies outside the "
                f"{frame.cbytes} bytes of chunks"
            )
    return offsets


def _check_chunks(
    path: Path, frame: FrameInfo, read: Reader, ahead: Announcer | None
) -> ChunkExtents:
    """Check the chunk index and the header of every chunk it points to; return their extents."""
    offsets = chunk_offsets(path, frame, read)
    if ahead is not None:
        headers = (frame.header_length + o for o in offsets if o not in _SPECIAL_OFFSETS)
        ahead([(start, start + HEADER_SIZE) for start in headers])
    starts, stops = [0] * len(offsets), [0] * len(offsets)
    for number, offset in enumerate(offsets):
        if offset in _SPECIAL_OFFSETS:
            continue  # a run of zeros, NaNs or uninitialized values: no bytes stored
        cbytes = check_chunk_header(
            read(frame.header_length + offset, HEADER_SIZE),
            source=f"{path}: chunk {number}",
            typesize=frame.typesize,
            nbytes=frame.chunksize,
            room=frame.cbytes - offset,
        )
        starts[number] = frame.header_length + offset
        stops[number] = starts[number] + cbytes
    return ChunkExtents(starts, stops)
