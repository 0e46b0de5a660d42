"""Where a frame's chunks and blocks lie, and how a few blocks of a chunk are decoded.

A b2nd chunk is its chunk shape padded to whole blocks, cut into blocks in C
order; each block is compressed on its own, and the chunk header is followed by
the offset of each block (``bstarts``). So a read that touches a few blocks of a
chunk can fetch just those: the header and offsets first (once per chunk), then
the blocks. The blocks are decoded by handing blosc2 a chunk that holds them and
a zero-length stream for every other block (the chunk format's run of zeros),
which it decodes like any chunk; the missing blocks come out as zeros and are
never looked at. Chunks whose blocks depend on each other (a dictionary, the
delta filter) or that are not stored as blocks are fetched whole.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import blosc2
import numpy as np

from mlarray.errors import FileFormatError
from mlarray_meta.format._chunk import HEADER_SIZE, check_chunk_header

__all__ = ["BlockTable", "ChunkGrid", "block_table", "decode_chunk"]

_MEMCPYED: Final = 0x02
_NOT_SPLIT: Final = 0x10
_MAX_BLOCK_VERSION: Final = 5
# Filters that work inside one block (delta refers to the chunk's first block).
_BLOCKWISE_FILTERS: Final = frozenset({0, 1, 2, 4})  # none, shuffle, bitshuffle, trunc_prec


@dataclass(frozen=True)
class ChunkGrid:
    """The chunk and block geometry of a b2nd array.

    Attributes:
        shape: Array shape.
        chunks: Chunk shape.
        blocks: Block shape.
        itemsize: Bytes per item.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]
    itemsize: int

    @cached_property
    def grid(self) -> tuple[int, ...]:
        """Chunks along each axis."""
        return tuple(-(-size // chunk) for size, chunk in zip(self.shape, self.chunks, strict=True))

    @cached_property
    def block_grid(self) -> tuple[int, ...]:
        """Blocks along each axis of one (block-padded) chunk."""
        return tuple(
            -(-chunk // block) for chunk, block in zip(self.chunks, self.blocks, strict=True)
        )

    @cached_property
    def nblocks(self) -> int:
        """Blocks per chunk."""
        return math.prod(self.block_grid)

    @cached_property
    def chunk_nbytes(self) -> int:
        """Uncompressed bytes of one chunk (padded to whole blocks)."""
        return self.nblocks * math.prod(self.blocks) * self.itemsize

    def touched(
        self, begin: tuple[int, ...], stop: tuple[int, ...]
    ) -> Iterator[tuple[int, tuple[slice, ...], tuple[slice, ...]]]:
        """Each chunk that the box ``[begin, stop)`` touches, in C order.

        Yields:
            ``(chunk number, region within the chunk, region within the box)``.
        """
        ranges = [
            range(low // chunk, (high - 1) // chunk + 1)
            for low, high, chunk in zip(begin, stop, self.chunks, strict=True)
        ]
        for coords in itertools.product(*ranges):
            inner, outer = [], []
            for coord, low, high, chunk in zip(coords, begin, stop, self.chunks, strict=True):
                first, last = max(low, coord * chunk), min(high, (coord + 1) * chunk)
                inner.append(slice(first - coord * chunk, last - coord * chunk))
                outer.append(slice(first - low, last - low))
            yield int(np.ravel_multi_index(coords, self.grid)), tuple(inner), tuple(outer)

    def blocks_of(self, region: tuple[slice, ...]) -> list[int]:
        """The numbers (C order) of the blocks of a chunk that ``region`` of it touches."""
        ranges = [
            range(part.start // block, (part.stop - 1) // block + 1)
            for part, block in zip(region, self.blocks, strict=True)
        ]
        return sorted(
            int(np.ravel_multi_index(coords, self.block_grid))
            for coords in itertools.product(*ranges)
        )

    def copy_region(
        self, chunk: np.ndarray[Any, Any], region: tuple[slice, ...], out: np.ndarray[Any, Any]
    ) -> None:
        """Copy ``region`` of a decoded chunk (items in block order) into ``out``."""
        blocked = chunk.reshape(*self.block_grid, *self.blocks)
        first = [part.start // block for part, block in zip(region, self.blocks, strict=True)]
        last = [
            (part.stop - 1) // block + 1 for part, block in zip(region, self.blocks, strict=True)
        ]
        picked = blocked[tuple(map(slice, first, last))]
        ndim = len(self.blocks)
        order = [
            axis for pair in zip(range(ndim), range(ndim, 2 * ndim), strict=True) for axis in pair
        ]
        sides = [(b - a) * block for a, b, block in zip(first, last, self.blocks, strict=True)]
        joined = picked.transpose(order).reshape(sides)
        out[...] = joined[
            tuple(
                slice(part.start - a * block, part.stop - a * block)
                for part, a, block in zip(region, first, self.blocks, strict=True)
            )
        ]


@dataclass(frozen=True, slots=True)
class BlockTable:
    """The header and block offsets of a chunk whose blocks can be fetched one by one.

    Attributes:
        header: The chunk's 32-byte header.
        starts: Offset of each block from the start of the chunk.
        sizes: Stored size of each block.
    """

    header: bytes
    starts: np.ndarray[Any, np.dtype[np.int64]]
    sizes: np.ndarray[Any, np.dtype[np.int64]]

    @property
    def section(self) -> bytes:
        """The header and block offsets as stored: what is fetched to learn the table."""
        return self.header + self.starts.astype("<i4").tobytes()

    def payloads(self, chunk: bytes, blocks: list[int]) -> dict[int, bytes]:
        """The stored bytes of ``blocks``, taken out of the whole ``chunk``."""
        return {
            block: chunk[self.starts[block] : self.starts[block] + self.sizes[block]]
            for block in blocks
        }

    def splice(self, payloads: dict[int, bytes]) -> bytes:
        """A chunk holding ``payloads`` (block number to stored bytes), other blocks empty."""
        streams = 1 if self.header[2] & _NOT_SPLIT else self.header[3]
        empty = b"\0\0\0\0" * streams  # one zero-length stream per stream of the block
        starts = np.empty(len(self.starts), dtype="<i4")
        offset = HEADER_SIZE + 4 * len(self.starts)
        body = []
        for number in range(len(self.starts)):
            payload = payloads.get(number, empty)
            starts[number] = offset
            offset += len(payload)
            body.append(payload)
        header = bytearray(self.header)
        header[12:16] = struct.pack("<i", offset)  # cbytes of the chunk built here
        return bytes(header) + starts.tobytes() + b"".join(body)


def section_size(nblocks: int) -> int:
    """Bytes of a chunk's header and block offsets."""
    return HEADER_SIZE + 4 * nblocks


def block_table(
    section: bytes, *, source: str, grid: ChunkGrid, room: int
) -> tuple[int, BlockTable | None]:
    """Check a chunk's header; return its stored size and its table if blocks can be fetched alone.

    Args:
        section: The chunk's first bytes: at least its header, and its block offsets
            for a table.
        source: Names the chunk in errors.
        grid: The array's geometry.
        room: Bytes from the chunk's start to the end of the frame's chunks.

    Raises:
        FileFormatError: The header or the block offsets are damaged.
    """
    cbytes = check_chunk_header(
        section[:HEADER_SIZE],
        source=source,
        typesize=grid.itemsize,
        nbytes=grid.chunk_nbytes,
        room=room,
    )
    header = section[:HEADER_SIZE]
    blocksize = struct.unpack_from("<i", header, 8)[0]
    plain = (
        header[0] <= _MAX_BLOCK_VERSION
        and not header[2] & _MEMCPYED
        and header[30] == 0
        and header[31] == 0  # no dictionary, special value or other blosc2 extension
        and set(header[16:22]) <= _BLOCKWISE_FILTERS
        and blocksize * grid.nblocks == grid.chunk_nbytes
        and grid.nblocks > 1
    )
    if not plain or len(section) < section_size(grid.nblocks):
        return cbytes, None
    starts = np.frombuffer(section, dtype="<i4", count=grid.nblocks, offset=HEADER_SIZE)
    starts = starts.astype(np.int64)
    if starts.min() < section_size(grid.nblocks) or starts.max() >= cbytes:
        raise FileFormatError(f"{source}: damaged chunk: block offsets outside its {cbytes} bytes")
    bounds = np.sort(np.append(starts, cbytes))
    sizes = bounds[np.searchsorted(bounds, starts, side="right")] - starts
    return cbytes, BlockTable(header=header, starts=starts, sizes=sizes)


def decode_chunk(
    chunk: bytes, grid: ChunkGrid, dtype: np.dtype[Any], *, source: str, nthreads: int = 1
) -> Any:
    """Decompress a whole (or spliced) chunk into a flat array of its items.

    Raises:
        FileFormatError: blosc2 cannot decompress it, or it has the wrong size.
    """
    try:
        data = blosc2.decompress2(chunk, nthreads=nthreads)
    except (RuntimeError, ValueError) as exc:
        raise FileFormatError(
            f"{source}: cannot be decompressed, the file is damaged ({exc})"
        ) from None
    if len(data) != grid.chunk_nbytes:
        raise FileFormatError(
            f"{source}: decompressed to {len(data)} bytes, expected {grid.chunk_nbytes}"
        )
    return np.frombuffer(data, dtype=dtype)
