"""Whole-array reads: every chunk decoded straight from the frame's bytes, on several threads.

python-blosc2 reads a whole array chunk by chunk on one thread, holding the GIL
(its ``nthreads`` only splits the blocks of one chunk, which costs more than it
gains for chunks of about 1 MiB). Here each thread takes a run of chunk rows:
blosc2 decodes a chunk into the thread's own buffer with the GIL released, NumPy
puts its blocks in order in a buffer gathering the chunks side by side along the
last axis, and that buffer moves into the result in long rows. Only frames whose chunk index
:func:`~mlarray._frame_check.check_frame` has checked get here, and every chunk
header is checked again just before its chunk is decoded.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blosc2
import numpy as np

from mlarray._frame_check import SPECIAL_OFFSETS
from mlarray._integrity import chunk_region
from mlarray.errors import FileFormatError
from mlarray_meta._chunk import HEADER_SIZE, check_chunk_header
from mlarray_meta.frame import FrameInfo

__all__ = ["FrameChunks"]

_ROW_BUDGET = 8 << 20
"""Bytes of decoded chunks gathered in one buffer before they move into the result."""

_ReadAt = Callable[[int, int, bytearray], Any]
"""Returns ``size`` bytes of the frame from ``start``, maybe through the scratch buffer."""


@dataclass(frozen=True)
class FrameChunks:
    """The chunks of a checked ``.mla`` frame and where to read their bytes.

    Attributes:
        source: Names the file in error messages.
        info: The frame's header, as read by the standard-library reader.
        offsets: Each chunk's offset from the first chunk, from the checked index.
        reader: Lends a byte reader for the duration of one whole read; lends None
            when the bytes are no longer those checked (the file was replaced).
    """

    source: str
    info: FrameInfo
    offsets: Sequence[int]
    reader: Callable[[], AbstractContextManager[_ReadAt | None]]

    @classmethod
    def of_buffer(
        cls, source: str, info: FrameInfo, offsets: Sequence[int], data: np.ndarray[Any, Any]
    ) -> FrameChunks | None:
        """Chunks of a frame held in memory (by :meth:`MLArray.load`); None if unsupported."""

        def read_at(start: int, size: int, scratch: bytearray) -> Any:
            return data[start : start + size]

        @contextmanager
        def reader() -> Iterator[_ReadAt | None]:
            yield read_at

        return cls._if_supported(source, info, offsets, reader)

    @classmethod
    def of_file(
        cls, path: Path, info: FrameInfo, offsets: Sequence[int], identity: tuple[int, ...]
    ) -> FrameChunks | None:
        """Chunks of a file, read for each whole read while it is still the file checked.

        Chunks are read into a buffer of the reading thread (not memory-mapped), so
        the bytes decoded are the bytes checked even if the file changes meanwhile.

        Args:
            path: The file.
            info: Its frame header.
            offsets: Its checked chunk offsets.
            identity: Device, inode, size and modification time of the checked file.
        """

        @contextmanager
        def reader() -> Iterator[_ReadAt | None]:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                yield None
                return
            try:
                stat = os.fstat(fd)
                same = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns) == identity
                yield functools.partial(_read_file, fd, str(path)) if same else None
            finally:
                os.close(fd)

        return cls._if_supported(str(path), info, offsets, reader)

    @classmethod
    def _if_supported(
        cls,
        source: str,
        info: FrameInfo,
        offsets: Sequence[int],
        reader: Callable[[], AbstractContextManager[_ReadAt | None]],
    ) -> FrameChunks | None:
        """The chunks, or None where blosc2's own reader must do.

        That is: 0-d and empty arrays, chunks stored as runs of one value (no bytes to
        decode), and chunks whose size is not that of their whole blocks.
        """
        if not info.shape or info.nchunks == 0 or any(o in SPECIAL_OFFSETS for o in offsets):
            return None
        chunks = cls(source, info, tuple(offsets), reader)
        grid = [-(-size // chunk) for size, chunk in zip(info.shape, info.chunks, strict=True)]
        if int(np.prod(chunks.padded)) * info.typesize != info.chunksize or int(
            np.prod(grid)
        ) != len(chunks.offsets):
            return None
        return chunks

    @property
    def padded(self) -> tuple[int, ...]:
        """A chunk's shape rounded up to whole blocks: the shape of its decoded bytes."""
        return tuple(
            -(-chunk // block) * block
            for chunk, block in zip(self.info.chunks, self.info.blocks, strict=True)
        )

    def read_all(self, nthreads: int) -> np.ndarray[Any, Any] | None:
        """Decode the whole array, each of up to ``nthreads`` threads taking a run of rows.

        Returns:
            The array, or None when the file is no longer the one checked (the
            caller then reads through blosc2).

        Raises:
            FileFormatError: A chunk is damaged (its header is out of range or it
                cannot be decompressed).
        """
        out = np.empty(self.info.shape, dtype=np.dtype(self.info.dtype))
        rows = self._rows()
        with self.reader() as read_at:
            if read_at is None:
                return None
            count = max(1, min(nthreads, len(rows)))
            if count == 1:
                self._decode_rows(read_at, rows, out)
                return out
            parts = [rows[part.start : part.stop] for part in _split(len(rows), count)]
            previous = blosc2.set_releasegil(True)
            try:
                with ThreadPoolExecutor(count, thread_name_prefix="mlarray-read") as pool:
                    for done in [pool.submit(self._decode_rows, read_at, p, out) for p in parts]:
                        done.result()
            finally:
                blosc2.set_releasegil(previous)
        return out

    def _rows(self) -> list[range]:
        """Runs of chunks side by side along the last axis, each gathered in one buffer.

        Copying into the result then moves long rows instead of the short rows of
        single blocks; a run holds at most :data:`_ROW_BUDGET` bytes.
        """
        info = self.info
        per_row = -(-info.shape[-1] // info.chunks[-1])
        width = max(1, min(per_row, _ROW_BUDGET // info.chunksize))
        if self.padded[-1] != info.chunks[-1]:
            width = 1  # a chunk's padding would sit between it and the next
        return [
            range(start, min(start + width, first + per_row))
            for first in range(0, len(self.offsets), per_row)
            for start in range(first, first + per_row, width)
        ]

    def _decode_rows(self, read_at: _ReadAt, rows: list[range], out: np.ndarray[Any, Any]) -> None:
        """Decode the chunks of ``rows`` into their regions of ``out``."""
        info = self.info
        padded = self.padded
        grid = [size // block for size, block in zip(padded, info.blocks, strict=True)]
        ndim = len(grid)
        # A chunk holds its blocks one after another (C order), each block in C order:
        # as an array of shape (*grid, *blocks), its axes interleaved (g0, b0, g1, b1, ...)
        # are the chunk's axes, each split into blocks.
        buffer = np.empty(int(np.prod(padded)), dtype=out.dtype)
        by_block = buffer.reshape(*grid, *info.blocks).transpose(
            [axis for pair in zip(range(ndim), range(ndim, 2 * ndim), strict=True) for axis in pair]
        )
        split = [size for pair in zip(grid, info.blocks, strict=True) for size in pair]
        width = max(map(len, rows))
        gathered = np.empty((*padded[:-1], width * padded[-1]), dtype=out.dtype)
        scratch = bytearray()
        for row in rows:
            for place, index in enumerate(row):
                self._decode_chunk(read_at, index, buffer, scratch)
                columns = slice(place * padded[-1], (place + 1) * padded[-1])
                gathered[..., columns].reshape(split)[...] = by_block
            first = chunk_region(info.shape, info.chunks, row[0])
            last = chunk_region(info.shape, info.chunks, row[-1])
            target = out[(*first[:-1], slice(first[-1].start, last[-1].stop))]
            target[...] = gathered[tuple(slice(0, size) for size in target.shape)]

    def _decode_chunk(
        self, read_at: _ReadAt, index: int, buffer: np.ndarray[Any, Any], scratch: bytearray
    ) -> None:
        """Decode chunk ``index`` into ``buffer`` after checking its header (again)."""
        info = self.info
        start = info.header_length + self.offsets[index]
        name = f"{self.source}: chunk {index}"
        header = bytes(read_at(start, HEADER_SIZE, scratch))
        cbytes = check_chunk_header(
            header,
            source=name,
            typesize=info.typesize,
            nbytes=buffer.nbytes,
            room=info.cbytes - self.offsets[index],
        )
        chunk = read_at(start, cbytes, scratch)
        if bytes(chunk[:HEADER_SIZE]) != header:
            raise FileFormatError(f"{name}: the file changed while it was read")
        try:  # the header says how much to write: exactly the buffer (checked above)
            blosc2.decompress2(chunk, dst=buffer, nthreads=1)
        except (RuntimeError, ValueError) as exc:
            raise FileFormatError(
                f"{name} cannot be decompressed, the file is damaged ({exc}); "
                "run 'mlarray verify' on it"
            ) from None


def _read_file(fd: int, source: str, start: int, size: int, scratch: bytearray) -> memoryview:
    """Read ``size`` bytes at ``start`` of file ``fd`` into ``scratch`` (grown as needed)."""
    if len(scratch) < size:
        scratch.extend(bytes(size - len(scratch)))
    view = memoryview(scratch)[:size]
    if os.preadv(fd, [view], start) != size:
        raise FileFormatError(f"{source}: the file ended before offset {start + size}")
    return view


def _split(count: int, parts: int) -> list[range]:
    """Split ``range(count)`` into ``parts`` runs of nearly equal length."""
    bounds = [count * part // parts for part in range(parts + 1)]
    return [range(a, b) for a, b in itertools.pairwise(bounds)]
