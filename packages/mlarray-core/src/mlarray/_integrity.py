"""Per-chunk checksums of the compressed data.

Blosc2 frames carry no checksum, so a flipped bit inside a compressed chunk
usually decodes to silently wrong values. :func:`chunk_checksums` records a CRC-32
of every compressed chunk as stored; :func:`first_damaged_chunk` recomputes them.
CRC-32 detects every single-bit error and every burst of up to 32 bits.
:class:`ChunkVerifier` checks chunks as reads touch them (``MLArray.open(...,
verify=True)``).
"""

from __future__ import annotations

import itertools
import json
import operator
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlarray.errors import ChecksumError

if TYPE_CHECKING:
    from mlarray_meta.header import HeaderMapping

__all__ = [
    "ALGORITHM",
    "basic_items",
    "ChunkVerifier",
    "chunk_checksums",
    "chunk_region",
    "damaged_chunks",
    "describe_chunk",
    "first_damaged_chunk",
    "integer_index",
    "record_problem",
    "touched_chunks",
    "updated_checksums",
]

ALGORITHM = "crc32"


def _crc(chunk: bytes) -> int:
    return zlib.crc32(chunk) & 0xFFFFFFFF


def _layout_crc(array: Any) -> int:
    """CRC-32 of the shape, chunk and block shapes and dtype that blosc2 reads the array with.

    The chunk checksums cannot see the frame header saying how to interpret the
    chunks: a header whose dtype turned ``<i2`` into ``<u2`` decodes every chunk
    into other values without any error.
    """
    layout = [list(array.shape), list(array.chunks), list(array.blocks), array.dtype.str]
    if array.dtype.names is not None:  # structured: the fields too
        layout.append(repr(array.dtype.descr))
    return _crc(json.dumps(layout).encode())


def chunk_checksums(array: Any) -> dict[str, Any]:
    """Return the integrity record of a Blosc2 NDArray.

    Returns:
        ``{"algorithm": "crc32", "chunks": [crc, ...], "layout": crc}``: a CRC-32 per
        stored chunk in chunk order, and one of the array's layout (shape, chunk and
        block shapes, dtype).
    """
    schunk = array.schunk
    return {
        "algorithm": ALGORITHM,
        "chunks": [_crc(schunk.get_chunk(index)) for index in range(schunk.nchunks)],
        "layout": _layout_crc(array),
    }


def updated_checksums(
    array: Any, record: dict[str, Any] | None, written: set[int] | None
) -> dict[str, Any]:
    """The integrity record of ``array`` after an edit wrote the chunks ``written``.

    The checksums of the other chunks are taken from ``record`` (the file's sound
    record before the edit), so that damage to chunks the edit did not touch is
    still reported rather than recorded as the new truth.

    Args:
        array: The edited Blosc2 NDArray.
        record: The record before the edit, or None (then every chunk is summed).
        written: Indices of the chunks written, or None for all of them.
    """
    if record is None or written is None or record_problem(record, array) is not None:
        return chunk_checksums(array)
    schunk = array.schunk
    sums = list(record["chunks"])
    for index in sorted(written):
        sums[index] = _crc(schunk.get_chunk(index))
    return {"algorithm": ALGORITHM, "chunks": sums, "layout": _layout_crc(array)}


def damaged_chunks(array: Any, record: dict[str, Any], indices: Iterable[int]) -> list[int]:
    """Return those of ``indices`` whose stored bytes no longer match ``record``.

    A chunk that cannot even be fetched (damaged chunk index) counts as damaged.
    """
    expected = record.get("chunks", [])
    schunk = array.schunk
    damaged = []
    for index in indices:
        try:
            stored = schunk.get_chunk(index)
        except (RuntimeError, ValueError):
            damaged.append(index)
            continue
        if _crc(stored) != expected[index]:
            damaged.append(index)
    return damaged


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


def describe_chunk(index: int, shape: tuple[int, ...], chunks: tuple[int, ...]) -> str:
    """Name chunk ``index`` and its array region, e.g. ``chunk 3 (array region [0:8, 8:16])``."""
    spans = ", ".join(f"{part.start}:{part.stop}" for part in chunk_region(shape, chunks, index))
    return f"chunk {index} (array region [{spans}])"


def record_problem(record: Any, array: Any) -> str | None:
    """Say what is wrong with ``array``'s integrity record, or None if it is usable.

    Records written before the layout checksum existed (no ``"layout"``) are usable;
    a layout that differs from the one saved means the frame header is damaged.
    """
    if not isinstance(record, dict) or record.get("algorithm") != ALGORITHM:
        return f"integrity record is malformed or uses an unknown algorithm: {record!r:.80}"
    sums = record.get("chunks")
    if not isinstance(sums, list) or not all(type(value) is int for value in sums):
        return "integrity record is malformed: 'chunks' must be a list of integers"
    nchunks = array.schunk.nchunks
    if len(sums) != nchunks:
        return f"integrity record lists {len(sums)} chunk checksums, the file has {nchunks} chunks"
    layout = record.get("layout")
    if layout is not None and type(layout) is not int:
        return "integrity record is malformed: 'layout' must be an integer"
    if layout is not None and layout != _layout_crc(array):
        return (
            f"the array's layout (shape {list(array.shape)}, chunks {list(array.chunks)}, "
            f"blocks {list(array.blocks)}, dtype {array.dtype.str}) does not match its "
            "checksum: the frame header is damaged"
        )
    return None


def _axis_chunks(item: Any, size: int, chunk: int) -> Sequence[int] | None:
    """Chunk coordinates along one axis touched by ``item``; None if not a basic index."""
    if isinstance(item, slice):
        positions = range(*item.indices(size))
        if abs(positions.step) > chunk:  # strides may skip whole chunks
            return sorted({position // chunk for position in positions})
        if not positions:
            return range(0)
        low, high = sorted((positions[0], positions[-1]))
        return range(low // chunk, high // chunk + 1)
    position = integer_index(item)
    if position is None:
        return None
    position += size if position < 0 else 0
    return range(position // chunk, position // chunk + 1) if 0 <= position < size else range(0)


def integer_index(item: Any) -> int | None:
    """``item`` as an integer index (Python or NumPy integer); None for anything else."""
    if isinstance(item, bool | np.bool_):
        return None
    try:
        return operator.index(item)
    except TypeError:
        return None


def basic_items(key: Any, ndim: int) -> list[Any] | None:
    """``key`` as one index per axis (one Ellipsis expanded, missing axes whole).

    Returns None for a key that is not a basic index of ``ndim`` axes (more items
    than axes, two Ellipses); the items themselves are not checked.
    """
    items = list(key) if isinstance(key, tuple) else [key]
    ellipses = [position for position, item in enumerate(items) if item is Ellipsis]
    if len(ellipses) > 1:
        return None
    if ellipses:
        fill = [slice(None)] * (ndim - len(items) + 1)
        items[ellipses[0] : ellipses[0] + 1] = fill
    if len(items) > ndim:
        return None
    return items + [slice(None)] * (ndim - len(items))


def touched_chunks(shape: tuple[int, ...], chunks: tuple[int, ...], key: Any) -> Sequence[int]:
    """Return the indices (C order) of the chunks that ``array[key]`` reads.

    Basic indices (integers, slices, one Ellipsis) are mapped exactly; any other
    key (fancy or boolean indexing, ``None``) conservatively touches every chunk.
    """
    grid = [-(-size // chunk) if chunk else 0 for size, chunk in zip(shape, chunks, strict=True)]
    every = range(int(np.prod(grid)))
    items = basic_items(key, len(shape))
    if items is None:
        return every
    ranges = []
    for item, size, chunk in zip(items, shape, chunks, strict=True):
        coordinates = _axis_chunks(item, size, chunk)
        if coordinates is None:
            return every
        ranges.append(coordinates)
    return [int(np.ravel_multi_index(position, grid)) for position in itertools.product(*ranges)]


class ChunkVerifier:
    """Checks each chunk of an array against its checksum the first time a read touches it.

    Args:
        path: The file the array was read from (named in errors).
        array: The Blosc2 NDArray.
        record: Its integrity record, already checked with :func:`record_problem`.
    """

    def __init__(self, path: Path | str, array: Any, record: dict[str, Any]) -> None:
        self._path = path
        self._array = array
        self._record = record
        self._checked: set[int] = set()

    @classmethod
    def for_file(cls, path: Path | str, array: Any, header: HeaderMapping) -> ChunkVerifier | None:
        """Return a verifier for ``array`` read from ``path``, or None if it has no checksums.

        Files written by ``mlarray`` 0.0.54 or plain blosc2 have none and are read
        unchecked; a file written by mlarray whose record is missing is damaged.

        Raises:
            ChecksumError: The integrity record is missing from a file written by
                mlarray, malformed, or lists another number of chunks than the array has.
        """
        record = header.integrity
        if record is None:
            if header.expects_integrity:
                raise ChecksumError(f"{path}: cannot verify reads: {header.metadata_problem}")
            return None
        problem = record_problem(record, array)
        if problem is not None:
            raise ChecksumError(f"{path}: cannot verify reads: {problem}")
        return cls(path, array, record)

    def check_key(self, key: Any) -> None:
        """Check the chunks that ``array[key]`` reads.

        Raises:
            ChecksumError: A touched chunk no longer matches its checksum.
        """
        shape, chunks = tuple(self._array.shape), tuple(self._array.chunks)
        self.check(touched_chunks(shape, chunks, key))

    def check_all(self) -> None:
        """Check every chunk.

        Raises:
            ChecksumError: A chunk no longer matches its checksum.
        """
        self.check(range(self._array.schunk.nchunks))

    def check(self, indices: Iterable[int]) -> None:
        """Check the chunks ``indices`` not checked before.

        Raises:
            ChecksumError: One of them no longer matches its checksum (the first is named).
        """
        pending = [index for index in indices if index not in self._checked]
        damaged = damaged_chunks(self._array, self._record, pending)
        if damaged:
            where = describe_chunk(damaged[0], tuple(self._array.shape), tuple(self._array.chunks))
            raise ChecksumError(
                f"{self._path}: {where} does not match its checksum: the stored bytes are "
                "damaged; run 'mlarray verify' on the file"
            )
        self._checked.update(pending)
