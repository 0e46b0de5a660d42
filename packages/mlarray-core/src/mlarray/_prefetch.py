"""Reading a memory-mapped ``.mla`` file from disk: the chunks a read needs, at once.

Blosc2 reads a mapped file through page faults. By default the kernel answers a
fault by reading ahead around it, as far as the device's read-ahead (often
megabytes): a patch touching a few chunks then pulls most of a file from disk,
and checking the chunk headers at the first read pulls all of it. So while a
handle reads patches its mapping is advised ``MADV_RANDOM`` (a fault reads its
own page only), the pages holding the chunk headers are advised
``MADV_WILLNEED`` together before the check reads them (:func:`will_need`: one
request per run of pages, all in flight at once, instead of one wait per
header), and before a read of at least :data:`PREFETCH_MIN` bytes the byte
ranges of the chunks it touches are advised ``MADV_WILLNEED``: the kernel starts
reading all of them at once, in large requests, while blosc2 decodes the
first. Whole-array reads go back to the kernel's default (read-ahead suits
them). All of this is advice: where the system lacks it, or refuses it, reads are the
same, only slower from a cold cache.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from mlarray._integrity import basic_items, integer_index

__all__ = ["PREFETCH_MIN", "ChunkExtents", "Prefetcher", "advised", "will_need"]

PREFETCH_MIN = 1 << 20
"""Reads of fewer bytes are left to page faults: their few pages cost less than the
advice would for data already in memory."""

_PAGE = mmap.PAGESIZE
_RANDOM: int | None = getattr(mmap, "MADV_RANDOM", None)
_NORMAL: int | None = getattr(mmap, "MADV_NORMAL", None)
_WILLNEED: int | None = getattr(mmap, "MADV_WILLNEED", None)


class ChunkExtents(NamedTuple):
    """Where each chunk of a frame is stored in its file (C order of the chunk grid).

    Attributes:
        starts: The byte offset of each chunk's first byte.
        stops: The offset past its last byte; equal to the start for a chunk
            stored as a run of one value (no bytes to read).
    """

    starts: list[int]
    stops: list[int]


def _advise(buffer: mmap.mmap, advice: int | None, start: int = 0, length: int = 0) -> None:
    """Give ``advice`` for ``length`` bytes of ``buffer`` from ``start`` (0: to the end)."""
    if advice is None:
        return
    try:
        if length:
            buffer.madvise(advice, start, length)
        else:
            buffer.madvise(advice)
    except (OSError, ValueError):
        return  # advice only: the reads work without it


@contextmanager
def advised(buffer: mmap.mmap, *, random: bool, restore: bool) -> Iterator[None]:
    """Advise ``buffer`` for random (True) or whole (False) reads while the block runs.

    Args:
        buffer: The mapping.
        random: ``MADV_RANDOM`` (True) or the default, read-ahead (False).
        restore: Whether ``MADV_RANDOM`` is given back afterwards (True) or the
            default (False).
    """
    _advise(buffer, _RANDOM if random else _NORMAL)
    try:
        yield
    finally:
        _advise(buffer, _RANDOM if restore else _NORMAL)


def will_need(buffer: mmap.mmap, ranges: Sequence[tuple[int, int]]) -> None:
    """Ask the kernel to start reading the byte ranges ``(start, stop)`` of ``buffer``.

    Ranges on the same or adjacent pages are merged: one request per run, which
    the kernel reads in large pieces and all at once, instead of one page fault
    (and one wait) per page. Empty ranges are skipped.
    """
    run: list[int] = []
    for start, stop in sorted(extent for extent in ranges if extent[1] > extent[0]):
        if run and start <= run[1] + _PAGE:
            run[1] = max(run[1], stop)
            continue
        if run:
            _request(buffer, *run)
        run = [start, stop]
    if run:
        _request(buffer, *run)


def _request(buffer: mmap.mmap, start: int, stop: int) -> None:
    """Ask for the bytes ``start:stop`` of ``buffer`` (from the page holding ``start``)."""
    aligned = start - start % _PAGE
    _advise(buffer, _WILLNEED, aligned, stop - aligned)


class Prefetcher:
    """Asks the kernel for the chunks that the reads of one mapped array will touch.

    Creating it advises the mapping for random reads (see the module's docstring).

    Args:
        buffer: The mapping of the file.
        extents: Where each chunk is stored in it.
        shape: The array's shape.
        chunks: Its chunk shape.
        itemsize: Bytes per item.
        min_bytes: Reads of fewer bytes are left to page faults.
    """

    def __init__(
        self,
        buffer: mmap.mmap,
        extents: ChunkExtents,
        shape: Sequence[int],
        chunks: Sequence[int],
        itemsize: int,
        *,
        min_bytes: int = PREFETCH_MIN,
    ) -> None:
        self._buffer = buffer
        self._extents = extents
        self._shape = tuple(shape)
        self._chunks = tuple(chunks)
        self._grid = [-(-size // chunk) for size, chunk in zip(shape, chunks, strict=True)]
        self._itemsize = itemsize
        self._min_bytes = min_bytes
        _advise(buffer, _RANDOM)

    def key(self, key: Any) -> None:
        """Prefetch for ``array[key]`` (basic indexing; other keys are left to faults)."""
        items = key if isinstance(key, tuple) else (key,)
        if len(items) == len(self._shape) and all(type(item) is int for item in items):
            return  # one item (the commonest small read): not worth parsing
        bounds = _bounds(key, self._shape)
        if bounds is not None:
            self.boxes([bounds])

    def boxes(self, boxes: Sequence[tuple[Sequence[int], Sequence[int]]]) -> None:
        """Prefetch for reads of the boxes ``(start, stop)`` (one value per axis each)."""
        volume = 0
        for low, high in boxes:
            volume += math.prod(b - a for a, b in zip(low, high, strict=True))
        if volume * self._itemsize < self._min_bytes:
            return
        numbers = {number for box in boxes for number in self._numbers(*box)}
        starts, stops = self._extents
        will_need(self._buffer, [(starts[n], stops[n]) for n in numbers])

    @contextmanager
    def whole(self) -> Iterator[None]:
        """Read the whole array inside the block: the kernel's read-ahead, then random again."""
        with advised(self._buffer, random=False, restore=True):
            yield

    def _numbers(self, start: Sequence[int], stop: Sequence[int]) -> list[int]:
        """The chunk numbers (C order) that the box ``start:stop`` touches."""
        numbers = [0]
        for low, high, chunk, count in zip(start, stop, self._chunks, self._grid, strict=True):
            if high <= low:
                return []
            along = range(low // chunk, (high - 1) // chunk + 1)
            numbers = [number * count + position for number in numbers for position in along]
        return numbers


def _bounds(key: Any, shape: tuple[int, ...]) -> tuple[list[int], list[int]] | None:
    """The box ``(start, stop)`` that a basic index reads within; None for other keys."""
    items = basic_items(key, len(shape))
    if items is None:
        return None
    start, stop = [], []
    for item, size in zip(items, shape, strict=True):
        if isinstance(item, slice):
            positions = range(*item.indices(size))
            if not positions:
                return None
            low, high = sorted((positions[0], positions[-1]))
            start.append(low)
            stop.append(high + 1)
            continue
        position = integer_index(item)
        if position is None:
            return None
        position += size if position < 0 else 0
        if not 0 <= position < size:
            return None
        start.append(position)
        stop.append(position + 1)
    return start, stop
