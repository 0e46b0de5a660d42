"""Fetching the parts of remote chunks that a read needs, in few requests and round trips.

For each chunk a read touches, :class:`ChunkFetcher` fetches either the whole
chunk or only the blocks touched. Blocks need the chunk's header and block
offsets first; those are remembered (in memory, and in the block cache), so
after the first read of a chunk each read is one round of concurrent requests.
A chunk is fetched whole, in one request and one round, when more than
:data:`WHOLE_FRACTION` of its blocks are wanted, or when its header is still
unknown and the whole chunk is smaller than :data:`MERGE_GAP` (what one more
request is worth). A chunk read again (random patches of a training
loop come back to the same chunks) is fetched whole when it is at most
:data:`REREAD_WHOLE` bytes, and is then read from memory. Ranges closer than
:data:`MERGE_GAP` are fetched with one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from mlarray._frame_check import special_kind
from mlarray._remote._cache import Pieces
from mlarray._remote._chunks import BlockTable, ChunkGrid, block_table, decode_chunk, section_size
from mlarray._remote._fsspec import Transport

__all__ = ["MERGE_GAP", "REREAD_WHOLE", "WHOLE_FRACTION", "ChunkFetcher"]

MERGE_GAP: Final = 64 * 2**10
"""Bytes one more request is taken to cost: closer ranges are fetched with one request."""
WHOLE_FRACTION: Final = 0.25
"""A chunk more than this share of whose blocks a read wants is fetched whole."""
REREAD_WHOLE: Final = 2**20
"""Largest chunk fetched whole when a read comes back to it."""
_SPECIAL_FILL: Final = {1: 0, 2: float("nan"), 4: 0}  # zeros, NaNs, uninitialized (as zeros)

Span = tuple[int, int]


def merged(spans: Sequence[Span]) -> tuple[list[Span], list[tuple[int, int]]]:
    """Merge ``(offset, count)`` spans closer than :data:`MERGE_GAP`.

    Returns:
        The requests to send, and for each span its request and offset within it.
    """
    order = sorted(range(len(spans)), key=lambda index: spans[index][0])
    requests: list[Span] = []
    where: list[tuple[int, int]] = [(0, 0)] * len(spans)
    for index in order:
        offset, count = spans[index]
        if requests and offset <= sum(requests[-1]) + MERGE_GAP:
            start, length = requests[-1]
            requests[-1] = (start, max(length, offset + count - start))
        else:
            requests.append((offset, count))
        where[index] = (len(requests) - 1, offset - requests[-1][0])
    return requests, where


class ChunkFetcher:
    """Fetches and decodes the chunks (or the blocks of chunks) that reads touch.

    Args:
        transport: Carries the requests.
        base: Offset of the first chunk in the file (the frame header's length).
        offsets: The chunk index: each chunk's offset from ``base``, or a value-run marker.
        cbytes: Bytes of all chunks together.
        grid: The array's geometry.
        dtype: The array's dtype.
        pieces: Where fetched pieces are kept (memory, block cache).
        nthreads: Threads blosc2 decompresses a chunk with.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        base: int,
        offsets: list[int],
        cbytes: int,
        grid: ChunkGrid,
        dtype: np.dtype[Any],
        pieces: Pieces,
        nthreads: int = 1,
    ) -> None:
        self._transport = transport
        self._base = base
        self._offsets = offsets
        self._grid = grid
        self._dtype = dtype
        self._pieces = pieces
        self._nthreads = nthreads
        self._tables: dict[int, BlockTable | None] = {}  # None: the chunk is fetched whole
        self._touched: set[int] = set()  # chunks read before
        stored = sorted({offset for offset in offsets if special_kind(offset) is None})
        ends = dict(zip(stored, [*stored[1:], cbytes], strict=True))
        self._room = {n: ends[o] - o for n, o in enumerate(offsets) if o in ends}

    @property
    def nchunks(self) -> int:
        """Number of chunks in the array."""
        return len(self._offsets)

    def _source(self, number: int) -> str:
        return f"{self._transport.url}: chunk {number}"

    def chunk(self, number: int) -> bytes:
        """The stored bytes of chunk ``number``, fetched whole (kept for the reads that follow).

        Raises:
            FileFormatError: The chunk is damaged.
        """
        return self._whole([number])[number]

    def read(self, wanted: dict[int, list[int]]) -> dict[int, Any]:
        """Decode the wanted blocks of each chunk (block numbers in C order).

        Returns:
            Each chunk's items in block order (as stored), correct at least in the
            wanted blocks; a chunk stored as a run of one value as that value.
        """
        decoded: dict[int, Any] = {}
        stored = []
        for number in wanted:
            kind = special_kind(self._offsets[number])
            if kind is None:
                stored.append(number)
            else:
                decoded[number] = self._dtype.type(_SPECIAL_FILL.get(kind, 0))
        whole = [n for n in stored if self._fetch_whole(n, len(wanted[n]))]
        self._touched.update(stored)
        partial = [n for n in stored if n not in whole]
        self._learn_tables([n for n in partial if n not in self._tables])
        whole += [n for n in partial if self._tables[n] is None]
        chunks = self._whole(whole)
        for number, data in chunks.items():  # decode only the blocks wanted
            table = self._tables.get(number)
            if table is not None and len(wanted[number]) < self._grid.nblocks:
                chunks[number] = table.splice(table.payloads(data, wanted[number]))
        chunks.update(self._blocks({n: wanted[n] for n in partial if self._tables[n] is not None}))
        for number, data in chunks.items():
            decoded[number] = decode_chunk(
                data, self._grid, self._dtype, source=self._source(number), nthreads=self._nthreads
            )
        return decoded

    def _fetch_whole(self, number: int, count: int) -> bool:
        """Whether to fetch a chunk whole for ``count`` of its blocks."""
        if count > self._grid.nblocks * WHOLE_FRACTION:
            return True  # one request, one round, for at most 1 / WHOLE_FRACTION the bytes
        if self._pieces.get(f"c{number}") is not None:
            return True
        if number not in self._tables:
            section = self._pieces.get(f"s{number}")
            if section is not None:
                self._tables[number] = self._table(number, section)[1]
        if number in self._tables:
            return number in self._touched and self._room[number] <= REREAD_WHOLE
        return self._room[number] <= MERGE_GAP

    def _table(self, number: int, data: bytes) -> tuple[int, BlockTable | None]:
        return block_table(
            data, source=self._source(number), grid=self._grid, room=self._room[number]
        )

    def _whole(self, numbers: list[int]) -> dict[int, bytes]:
        """Chunks, whole: kept (in memory or the block cache) or fetched and then kept."""
        found: dict[int, bytes] = {}
        missing = []
        for number in numbers:
            kept = self._pieces.get(f"c{number}")
            if kept is None:
                missing.append(number)
            else:
                found[number] = kept
        spans = [(self._base + self._offsets[n], self._room[n]) for n in missing]
        for number, data in zip(missing, self._fetch(spans), strict=True):
            cbytes, table = self._table(number, data)
            self._tables.setdefault(number, table)
            found[number] = data[:cbytes]
            self._pieces.put(f"c{number}", found[number])
        return found

    def _learn_tables(self, numbers: list[int]) -> None:
        """Fetch the header and block offsets of chunks (and cache them)."""
        size = section_size(self._grid.nblocks)
        spans = [(self._base + self._offsets[n], min(size, self._room[n])) for n in numbers]
        for number, section in zip(numbers, self._fetch(spans), strict=True):
            self._tables[number] = self._table(number, section)[1]
            self._pieces.put(f"s{number}", section)

    def _blocks(self, wanted: dict[int, list[int]]) -> dict[int, bytes]:
        """Fetch the wanted blocks of chunks whose tables are known; splice each chunk."""
        payloads: dict[int, dict[int, bytes]] = {n: {} for n in wanted}
        spans, keys = [], []
        for number, blocks in wanted.items():
            table = self._tables[number]
            assert table is not None
            for block in blocks:
                cached = self._pieces.get(f"b{number}.{block}")
                if cached is not None:
                    payloads[number][block] = cached
                    continue
                start = self._base + self._offsets[number] + int(table.starts[block])
                spans.append((start, int(table.sizes[block])))
                keys.append((number, block))
        for (number, block), data in zip(keys, self._fetch(spans), strict=True):
            payloads[number][block] = data
            self._pieces.put(f"b{number}.{block}", data)
        spliced = {}
        for number, found in payloads.items():
            table = self._tables[number]
            assert table is not None
            spliced[number] = table.splice(found)
        return spliced

    def _fetch(self, spans: list[Span]) -> list[bytes]:
        """Fetch spans concurrently, merging close ones."""
        if not spans:
            return []
        requests, where = merged(spans)
        answers = self._transport.read_many(requests)
        return [
            answers[request][start : start + count]
            for (request, start), (_, count) in zip(where, spans, strict=True)
        ]
