"""Memory-mapped reads ask the kernel for exactly the chunks they touch (mlarray._prefetch)."""

from __future__ import annotations

import itertools
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import MLArray
from mlarray._file_metadata import read_file_header
from mlarray._frame_check import buffer_reader, check_frame
from mlarray._integrity import touched_chunks
from mlarray._opened import MappedFile
from mlarray._prefetch import PREFETCH_MIN, ChunkExtents, Prefetcher, will_need

pytestmark = pytest.mark.skipif(
    not hasattr(mmap, "MADV_WILLNEED"), reason="the system has no madvise advice to give"
)

SHAPE = (64, 96, 96)
CHUNKS = (16, 32, 32)
RNG = np.random.default_rng(11)


class RecordingMap(mmap.mmap):
    """A real read-only mapping that also records the advice given to it."""

    advice: list[tuple[int, int, int]]

    def madvise(self, option: int, start: int = 0, length: int = 0) -> None:
        self.advice.append((option, start, length))
        if length:
            super().madvise(option, start, length)
        else:
            super().madvise(option)

    def prefetched(self) -> list[tuple[int, int]]:
        """The ``[start, stop)`` byte ranges advised WILLNEED."""
        return [(a, a + n) for option, a, n in self.advice if option == mmap.MADV_WILLNEED]


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    data = RNG.normal(0.0, 100.0, SHAPE).astype(np.float32)
    data[:16, :32, :32] = 0.0  # a chunk of one value
    path = tmp_path_factory.mktemp("prefetch") / "volume.mla"
    MLArray(data, chunk_size=CHUNKS, block_size=(8, 16, 16)).save(path)
    return path, data


@pytest.fixture
def mapped(volume: tuple[Path, np.ndarray]) -> Iterator[tuple[RecordingMap, ChunkExtents, Any]]:
    path, _ = volume
    fd = os.open(path, os.O_RDONLY)
    try:
        buffer = RecordingMap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
    buffer.advice = []
    frame = read_file_header(path).mapping.frame
    extents = check_frame(path, frame, buffer_reader(buffer))
    store = blosc2.open(str(path), mode="r")
    yield buffer, extents, store
    buffer.close()


def test_extents_are_the_bytes_blosc2_stores_for_each_chunk(
    mapped: tuple[RecordingMap, ChunkExtents, Any],
) -> None:
    buffer, extents, store = mapped
    assert len(extents.starts) == store.schunk.nchunks == 36
    for number, (start, stop) in enumerate(zip(extents.starts, extents.stops, strict=True)):
        stored = store.schunk.get_chunk(number)
        if number == 0:  # the chunk of zeros: a run in the index, no bytes stored
            assert start == stop
            assert len(stored) == 32  # blosc2 makes up a header for it
            continue
        assert buffer[start:stop] == stored


def test_the_check_announces_every_chunk_header_before_reading_any(
    volume: tuple[Path, np.ndarray],
) -> None:
    path, _ = volume
    data = path.read_bytes()
    events: list[tuple[str, Any]] = []

    def read(offset: int, size: int) -> bytes:
        events.append(("read", offset))
        return data[offset : offset + size]

    frame = read_file_header(path).mapping.frame
    extents = check_frame(path, frame, read, ahead=lambda ranges: events.append(("ahead", ranges)))
    kinds = [kind for kind, _ in events]
    assert kinds.count("ahead") == 1
    announced = events[kinds.index("ahead")][1]
    headers = sorted((a, a + 32) for a, b in zip(*extents, strict=True) if b > a)
    assert sorted(announced) == headers  # the 35 stored chunks; the run of zeros has none
    later = {offset for kind, offset in events[kinds.index("ahead") + 1 :]}
    assert later == {a for a, _ in headers}  # every header is read after it was announced


def test_will_need_asks_once_per_run_of_pages() -> None:
    page = mmap.PAGESIZE
    buffer = RecordingMap(-1, 64 * page)
    buffer.advice = []
    will_need(
        buffer,
        [
            (20 * page + 5, 20 * page + 37),  # out of order
            (3 * page + 100, 3 * page + 132),
            (4 * page + 10, 4 * page + 42),  # next page: the same request
            (5 * page - 8, 5 * page + 24),  # straddles a page border
            (9 * page, 9 * page),  # empty
            (30 * page, 33 * page),
        ],
    )
    assert buffer.prefetched() == [
        (3 * page, 5 * page + 24),
        (20 * page, 20 * page + 37),
        (30 * page, 33 * page),
    ]
    buffer.close()


def test_the_first_mapped_read_asks_for_all_chunk_headers_at_once(
    volume: tuple[Path, np.ndarray],
) -> None:
    path, _ = volume
    fd = os.open(path, os.O_RDONLY)
    try:
        buffer = RecordingMap(fd, 0, access=mmap.ACCESS_READ)
        identity = (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
    finally:
        os.close(fd)
    buffer.advice = []
    extents = MappedFile(path, read_file_header(path), buffer, identity).check()
    requested = buffer.prefetched()
    for start, stop in zip(*extents, strict=True):
        if stop > start:
            assert _covered(requested, start, start + 32), f"header at {start} not asked for"
    header_pages = {start // mmap.PAGESIZE for start, stop in zip(*extents, strict=True) if stop}
    assert len(requested) <= len(header_pages)  # at most one request per page of headers
    assert buffer.advice[0] == (mmap.MADV_RANDOM, 0, 0)  # no read-ahead around each header
    buffer.close()


def _covered(ranges: list[tuple[int, int]], start: int, stop: int) -> bool:
    return any(a <= start and stop <= b for a, b in ranges)


BOXES = {
    "one chunk, whole": [([16, 32, 32], [32, 64, 64])],
    "across chunk borders": [([5, 20, 30], [60, 90, 70])],
    "a slab": [([0, 0, 0], [64, 96, 40])],
    "two patches far apart": [([0, 0, 0], [40, 40, 40]), ([30, 60, 60], [64, 96, 96])],
    "the zero chunk and its neighbour": [([0, 0, 0], [16, 32, 64])],
}


@pytest.mark.parametrize("boxes", BOXES.values(), ids=BOXES.keys())
def test_reads_prefetch_the_chunks_they_touch_and_no_other(
    mapped: tuple[RecordingMap, ChunkExtents, Any], boxes: list[tuple[list[int], list[int]]]
) -> None:
    buffer, extents, store = mapped
    prefetcher = Prefetcher(buffer, extents, store.shape, store.chunks, 4, min_bytes=0)
    buffer.advice.clear()
    prefetcher.boxes(boxes)
    ranges = buffer.prefetched()
    touched = set().union(
        *(touched_chunks(SHAPE, CHUNKS, tuple(map(slice, a, b))) for a, b in boxes)
    )
    for number, (start, stop) in enumerate(zip(extents.starts, extents.stops, strict=True)):
        if start == stop:
            continue
        if number in touched:
            assert _covered(ranges, int(start), int(stop)), f"chunk {number} not prefetched"
        else:  # at most the page it shares with a touched chunk
            inner = (int(start) // mmap.PAGESIZE + 1) * mmap.PAGESIZE
            end = (int(stop) // mmap.PAGESIZE) * mmap.PAGESIZE
            assert not any(a < end and inner < b for a, b in ranges), f"chunk {number} read"
    assert all(a % mmap.PAGESIZE == 0 for a, _ in ranges)
    assert len(ranges) <= len(touched)  # chunks stored one after the other: one request


def test_small_reads_and_other_keys_are_left_to_page_faults(
    mapped: tuple[RecordingMap, ChunkExtents, Any],
) -> None:
    buffer, extents, store = mapped
    prefetcher = Prefetcher(buffer, extents, store.shape, store.chunks, 4)
    assert buffer.advice == [(mmap.MADV_RANDOM, 0, 0)]
    side = round((PREFETCH_MIN / 4) ** (1 / 3)) - 1  # just under PREFETCH_MIN bytes
    prefetcher.boxes([([0, 0, 0], [side, side, side])])
    prefetcher.key((1, 2, 3))
    prefetcher.key(([1, 2], slice(None)))  # fancy: not a box
    prefetcher.key(np.zeros(SHAPE, dtype=bool))
    assert buffer.prefetched() == []
    prefetcher.key((Ellipsis, slice(10, 80)))
    assert buffer.prefetched()


def test_whole_reads_use_read_ahead_then_random_again(
    mapped: tuple[RecordingMap, ChunkExtents, Any],
) -> None:
    buffer, extents, store = mapped
    prefetcher = Prefetcher(buffer, extents, store.shape, store.chunks, 4)
    buffer.advice.clear()
    with prefetcher.whole():
        assert buffer.advice == [(mmap.MADV_NORMAL, 0, 0)]
    assert buffer.advice[-1] == (mmap.MADV_RANDOM, 0, 0)


KEYS: dict[str, Callable[[MLArray], np.ndarray]] = {
    "slices": lambda image: image[2:60, 5:90, 10:80],
    "ellipsis": lambda image: image[..., 3:90],
    "negative and integer": lambda image: image[-40:, 7],
    "steps": lambda image: image[::2, 1::3, 5:90],
    "everything": lambda image: image.to_numpy(),
    "patches": lambda image: image.read_patches([[0, 0, 0], [20, 30, 40]], [44, 66, 56]),
    "fancy": lambda image: image[[0, 5, 63], :, 10:90],
}


def _expected(name: str, data: np.ndarray) -> np.ndarray:
    if name == "patches":
        return np.stack([data[:44, :66, :56], data[20:64, 30:96, 40:96]])
    if name == "everything":
        return data
    return KEYS[name](data)  # type: ignore[arg-type]


@pytest.mark.parametrize("mmap_mode", ["r", "c", "r+"])
@pytest.mark.parametrize("name", KEYS)
def test_mapped_reads_return_the_stored_data(
    volume: tuple[Path, np.ndarray], tmp_path: Path, name: str, mmap_mode: str
) -> None:
    path, data = volume
    copy = tmp_path / "copy.mla"
    copy.write_bytes(path.read_bytes())
    with MLArray.open(copy, mmap_mode=mmap_mode) as image:
        np.testing.assert_array_equal(KEYS[name](image), _expected(name, data))
        if mmap_mode != "r":  # after a write, reads go to the copy, not the mapping
            image[0, 0, 0] = 5.0
            edited = data.copy()
            edited[0, 0, 0] = 5.0
            np.testing.assert_array_equal(KEYS[name](image), _expected(name, edited))


def test_saving_an_opened_file_elsewhere_reads_all_of_it(
    volume: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, data = volume
    with MLArray.open(path, mmap_mode="r") as image:
        image[5:60, 5:90, 5:90]  # reads through the prefetcher first
        image.save(tmp_path / "saved.mla")
    np.testing.assert_array_equal(MLArray.load(tmp_path / "saved.mla").to_numpy(), data)


@pytest.mark.parametrize("seed", range(5))
def test_prefetched_chunks_are_the_verifiers_for_random_boxes(
    mapped: tuple[RecordingMap, ChunkExtents, Any], seed: int
) -> None:
    buffer, extents, store = mapped
    prefetcher = Prefetcher(buffer, extents, store.shape, store.chunks, 4, min_bytes=0)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        start = [int(rng.integers(0, n)) for n in SHAPE]
        stop = [int(rng.integers(a + 1, n + 1)) for a, n in zip(start, SHAPE, strict=True)]
        buffer.advice.clear()
        prefetcher.boxes([(start, stop)])
        ranges = buffer.prefetched()
        for number in touched_chunks(SHAPE, CHUNKS, tuple(map(slice, start, stop))):
            a, b = int(extents.starts[number]), int(extents.stops[number])
            assert a == b or _covered(ranges, a, b)
        assert list(itertools.chain(*ranges)) == sorted(itertools.chain(*ranges))
