"""Per-chunk checksums of the compressed data.

Blosc2 frames carry no checksum, so a flipped bit inside a compressed chunk
usually decodes to silently wrong values. :func:`chunk_checksums` records a CRC-32
of every compressed chunk as stored; :func:`first_damaged_chunk` recomputes them.
CRC-32 detects every single-bit error and every burst of up to 32 bits.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ALGORITHM",
    "chunk_checksums",
    "chunk_region",
    "damaged_chunks",
    "first_damaged_chunk",
]

ALGORITHM = "crc32"


def _crc(chunk: bytes) -> int:
    return zlib.crc32(chunk) & 0xFFFFFFFF


def chunk_checksums(array: Any) -> dict[str, Any]:
    """Return the integrity record of a Blosc2 NDArray: one CRC-32 per stored chunk.

    Returns:
        ``{"algorithm": "crc32", "chunks": [crc, ...]}`` in chunk order.
    """
    schunk = array.schunk
    return {
        "algorithm": ALGORITHM,
        "chunks": [_crc(schunk.get_chunk(index)) for index in range(schunk.nchunks)],
    }


def damaged_chunks(array: Any, record: dict[str, Any], indices: Iterable[int]) -> list[int]:
    """Return those of ``indices`` whose stored bytes no longer match ``record``."""
    expected = record.get("chunks", [])
    schunk = array.schunk
    return [index for index in indices if _crc(schunk.get_chunk(index)) != expected[index]]


def first_damaged_chunk(array: Any, record: dict[str, Any]) -> int | None:
    """Return the index of the first chunk whose checksum differs, or None."""
    for index in range(array.schunk.nchunks):
        if damaged_chunks(array, record, [index]):
            return index
    return None


def chunk_region(shape: tuple[int, ...], chunks: tuple[int, ...], index: int) -> tuple[slice, ...]:
    """Return the region of the array covered by chunk number ``index`` (C order)."""
    grid = [max(1, -(-size // chunk)) for size, chunk in zip(shape, chunks, strict=True)]
    position = []
    for count in reversed(grid):
        position.append(index % count)
        index //= count
    position.reverse()
    return tuple(
        slice(coord * chunk, min((coord + 1) * chunk, size))
        for coord, chunk, size in zip(position, chunks, shape, strict=True)
    )
