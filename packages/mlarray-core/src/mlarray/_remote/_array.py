"""The array of a remote ``.mla`` file: what an MLArray opened from a URL reads through.

:class:`RemoteArray` answers the reads an MLArray makes of its store (basic
indexing, ``get_slice_numpy`` for patch batches, the whole array) by fetching
only the blocks each read touches (:mod:`mlarray._remote._fetch`). Other keys
(index arrays, masks, new axes) read the bounding box of what they select, or
the whole array, and index that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import blosc2
import numpy as np

from mlarray._frame_check import special_kind
from mlarray._integrity import integer_index
from mlarray._remote._chunks import ChunkGrid
from mlarray._remote._fetch import ChunkFetcher
from mlarray._remote._fsspec import Transport

__all__ = ["RemoteArray"]

_CHUNKS_PER_ROUND: Final = 64  # bounds the compressed bytes held by one large read


def _axis_bounds(item: Any, size: int) -> tuple[int, int, Any] | None:
    """``(start, stop, index within the box)`` of a basic index on one axis; None otherwise."""
    if isinstance(item, slice):
        positions = range(*item.indices(size))
        if not positions:
            return 0, 0, slice(0, 0)
        low, high = min(positions[0], positions[-1]), max(positions[0], positions[-1]) + 1
        end = positions[-1] - low + (1 if positions.step > 0 else -1)
        return low, high, slice(positions[0] - low, None if end < 0 else end, positions.step)
    position = integer_index(item)
    if position is None:
        return None
    if not -size <= position < size:
        raise IndexError(f"index {position} is out of bounds for an axis of size {size}")
    position %= size
    return position, position + 1, 0


def _basic(key: Any, shape: tuple[int, ...]) -> tuple[list[int], list[int], tuple[Any, ...]] | None:
    """Split a basic index into a box and the index within it; None for any other key."""
    items = list(key) if isinstance(key, tuple) else [key]
    ellipses = [at for at, item in enumerate(items) if item is Ellipsis]
    if len(ellipses) > 1:
        return None
    if ellipses:
        at = ellipses[0]
        items[at : at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    if len(items) > len(shape):
        return None
    items += [slice(None)] * (len(shape) - len(items))
    begin, stop, inner = [], [], []
    for item, size in zip(items, shape, strict=True):
        bounds = _axis_bounds(item, size)
        if bounds is None:
            return None
        begin.append(bounds[0])
        stop.append(bounds[1])
        inner.append(bounds[2])
    return begin, stop, tuple(inner)


class RemoteChunks:
    """The chunk-level view of a remote array that checksum verification reads.

    Mirrors the few ``SChunk`` members used: ``nchunks``, ``get_chunk`` and ``cparams``.
    """

    def __init__(self, fetcher: ChunkFetcher, grid: ChunkGrid, offsets: list[int], cparams: Any):
        self._fetcher = fetcher
        self._grid = grid
        self._offsets = offsets
        self.cparams = cparams

    @property
    def nchunks(self) -> int:
        """Number of chunks."""
        return len(self._offsets)

    def get_chunk(self, number: int) -> bytes:
        """The stored bytes of a chunk, as blosc2 gives them (value runs as a special chunk)."""
        kind = special_kind(self._offsets[number])
        if kind is None:
            return self._fetcher.chunk(number)
        special = blosc2.SChunk(chunksize=self._grid.chunk_nbytes, cparams=self.cparams)
        special.fill_special(
            self._grid.chunk_nbytes // self._grid.itemsize, blosc2.SpecialValue(kind)
        )
        return bytes(special.get_chunk(0))


class RemoteArray:
    """A b2nd array in a remote file, read block by block.

    Args:
        fetcher: Fetches and decodes the chunks.
        grid: The array's chunk and block geometry.
        dtype: The array's dtype.
        offsets: The chunk index (to tell value runs apart).
        cparams: The frame's compression parameters, as recorded in the metadata.
        transport: Carries the requests (for whole-file downloads).
    """

    def __init__(
        self,
        fetcher: ChunkFetcher,
        grid: ChunkGrid,
        dtype: np.dtype[Any],
        offsets: list[int],
        cparams: Any,
        transport: Transport,
    ) -> None:
        self._fetcher = fetcher
        self._transport = transport
        self._grid = grid
        self.dtype = dtype
        self.schunk = RemoteChunks(fetcher, grid, offsets, cparams)

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape."""
        return self._grid.shape

    @property
    def chunks(self) -> tuple[int, ...]:
        """Chunk shape."""
        return self._grid.chunks

    @property
    def blocks(self) -> tuple[int, ...]:
        """Block shape."""
        return self._grid.blocks

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self._grid.shape)

    def __getitem__(self, key: Any) -> Any:
        """Read ``array[key]``: only the blocks of a basic index, the whole array otherwise."""
        basic = _basic(key, self.shape)
        if basic is None:
            return self.read_box([0] * self.ndim, list(self.shape))[key]
        begin, stop, inner = basic
        return self.read_box(begin, stop)[inner]

    def save(self, urlpath: str, mode: str = "w") -> None:
        """Download the whole file to ``urlpath`` in one streamed pass (as blosc2's ``save``).

        Raises:
            RemoteFileError: The download failed, or the file changed on the server.
        """
        assert mode == "w"
        with open(urlpath, "wb") as sink:
            self._transport.download(sink)

    def get_slice_numpy(
        self, out: np.ndarray[Any, Any], box: tuple[Sequence[int], Sequence[int]]
    ) -> None:
        """Read the box ``(start, stop)`` into ``out`` (as blosc2's method of that name)."""
        self.read_box(list(box[0]), list(box[1]), out=out)

    def read_box(
        self, begin: list[int], stop: list[int], *, out: np.ndarray[Any, Any] | None = None
    ) -> np.ndarray[Any, Any]:
        """Read the box ``[begin, stop)``, fetching only the blocks it touches."""
        sides = tuple(high - low for low, high in zip(begin, stop, strict=True))
        if out is None:
            out = np.empty(sides, dtype=self.dtype)
        if 0 in sides:
            return out
        touched = list(self._grid.touched(tuple(begin), tuple(stop)))
        for first in range(0, len(touched), _CHUNKS_PER_ROUND):
            round_ = touched[first : first + _CHUNKS_PER_ROUND]
            wanted = {number: self._grid.blocks_of(inner) for number, inner, _ in round_}
            decoded = self._fetcher.read(wanted)
            for number, inner, outer in round_:
                chunk = decoded[number]
                if np.ndim(chunk) == 0:
                    out[outer] = chunk
                else:
                    self._grid.copy_region(chunk, inner, out[outer])
        return out
