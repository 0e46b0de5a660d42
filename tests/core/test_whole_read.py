"""Whole-array reads on several threads: chunks decoded straight from the frame's bytes."""

from __future__ import annotations

import struct
from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import MLArray
from mlarray._access import _is_whole
from mlarray.errors import ChecksumError, FileFormatError
from mlarray_meta.frame import read_frame

LAYOUTS = [
    # shape, chunks, blocks, dtype: edges, chunks that are not whole blocks, 1-D to 4-D
    ((40, 52, 61), (16, 20, 24), (8, 10, 8), np.int16),
    ((33, 47, 29), (10, 12, 9), (4, 5, 4), np.float32),
    ((3, 20, 21, 22), (1, 10, 10, 10), (1, 5, 5, 4), np.uint8),
    ((1001,), (300,), (64,), np.float64),
    ((17, 300), (5, 64), (5, 16), np.complex64),
    ((12, 12), (12, 12), (12, 12), np.bool_),
]


def _volume(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    rng = np.random.default_rng(sum(shape))
    smooth = np.cumsum(rng.integers(-3, 4, shape), axis=-1)  # compressible, not constant
    if np.dtype(dtype) == np.bool_:
        return smooth > 0
    if np.dtype(dtype).kind == "c":
        return (smooth + 1j * smooth[..., ::-1]).astype(dtype)
    return smooth.astype(dtype)


def _save(path: Path, data: np.ndarray, chunks: tuple[int, ...], blocks: tuple[int, ...]) -> Path:
    MLArray(data, patch_size=None, chunk_size=chunks, block_size=blocks).save(path)
    return path


@pytest.mark.parametrize(("shape", "chunks", "blocks", "dtype"), LAYOUTS)
@pytest.mark.parametrize("nthreads", [2, 3, 64])
def test_load_and_open_read_the_whole_array(
    tmp_path: Path,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    blocks: tuple[int, ...],
    dtype: type,
    nthreads: int,
) -> None:
    data = _volume(shape, dtype)
    path = _save(tmp_path / "a.mla", data, chunks, blocks)
    loaded = MLArray.load(path, dparams={"nthreads": nthreads})
    assert loaded._chunks is not None  # the parallel reader, not blosc2's
    whole = loaded.to_numpy()
    assert whole.dtype == data.dtype
    np.testing.assert_array_equal(whole, data)
    opened = MLArray.open(path, mmap_mode="r", dparams={"nthreads": nthreads})
    for key in (Ellipsis, (), slice(None), (Ellipsis, slice(None))):
        np.testing.assert_array_equal(opened[key], data)
    assert opened._chunks is not None
    np.testing.assert_array_equal(np.asarray(opened), data)
    np.testing.assert_array_equal(blosc2.open(str(path))[...], data)


def test_one_thread_and_other_modes_read_through_blosc2(tmp_path: Path) -> None:
    data = _volume((30, 40, 50), np.int16)
    path = _save(tmp_path / "a.mla", data, (10, 20, 25), (5, 10, 5))
    for mmap_mode in (None, "r"):
        opened = MLArray.open(path, mmap_mode=mmap_mode, dparams={"nthreads": 2})
        np.testing.assert_array_equal(opened[...], data)
        assert opened._chunks is not None
    writable = MLArray.open(path, mmap_mode="r+", dparams={"nthreads": 2})
    writable[0, 0, :5] = 7
    assert writable._chunks is None  # the file can change under it
    expected = data.copy()
    expected[0, 0, :5] = 7
    np.testing.assert_array_equal(writable[...], expected)
    writable.close()
    np.testing.assert_array_equal(MLArray.load(path, dparams={"nthreads": 2})[...], expected)


def test_a_loaded_array_written_to_reads_its_new_values(tmp_path: Path) -> None:
    data = _volume((20, 30, 40), np.float32)
    path = _save(tmp_path / "a.mla", data, (10, 10, 20), (5, 5, 10))
    loaded = MLArray.load(path, dparams={"nthreads": 2})
    loaded[5:15, 0, 0] = -1.5
    data[5:15, 0, 0] = -1.5
    np.testing.assert_array_equal(loaded.to_numpy(), data)


def test_a_file_replaced_after_opening_still_reads_as_opened(tmp_path: Path) -> None:
    data = _volume((20, 30, 40), np.int16)
    path = _save(tmp_path / "a.mla", data, (10, 10, 20), (5, 5, 10))
    opened = MLArray.open(path, mmap_mode="r", dparams={"nthreads": 2})
    np.testing.assert_array_equal(opened[0:2, 0:2, 0:2], data[0:2, 0:2, 0:2])  # attaches
    MLArray(data + 1, patch_size=None, chunk_size=(10, 10, 20), block_size=(5, 5, 10)).save(path)
    np.testing.assert_array_equal(opened[...], data)  # blosc2 maps the file it opened
    np.testing.assert_array_equal(MLArray.open(path, dparams={"nthreads": 2})[...], data + 1)


def test_chunks_stored_as_runs_read_through_blosc2(tmp_path: Path) -> None:
    path = tmp_path / "runs.mla"
    created = MLArray.create(path, (40, 40), np.float32, patch_size=None, chunk_size=(10, 40),
                             block_size=(5, 20))  # fmt: skip
    created[0:10] = 3.5
    created.close()
    frame = read_frame(path)
    assert frame.nchunks == 4
    opened = MLArray.open(path, dparams={"nthreads": 2})
    whole = opened[...]
    assert opened._chunks is None
    np.testing.assert_array_equal(whole[0:10], np.full((10, 40), 3.5, np.float32))
    np.testing.assert_array_equal(whole, blosc2.open(str(path))[...])


def _first_stream_size_offset(path: Path) -> int:
    """File offset of the size field of chunk 0's first compressed stream."""
    frame = read_frame(path)
    data = path.read_bytes()
    index_start = frame.header_length + frame.cbytes
    index = blosc2.decompress2(data[index_start:], nthreads=1)
    chunk = frame.header_length + struct.unpack_from("<q", index, 0)[0]
    (first_block,) = struct.unpack_from("<i", data, chunk + 32)
    return chunk + first_block


def test_a_damaged_chunk_names_the_chunk(tmp_path: Path) -> None:
    data = _volume((20, 30, 40), np.int16)
    path = _save(tmp_path / "a.mla", data, (10, 10, 20), (5, 5, 10))
    damaged = bytearray(path.read_bytes())
    struct.pack_into("<i", damaged, _first_stream_size_offset(path), 2**30)
    path.write_bytes(bytes(damaged))
    with pytest.raises(FileFormatError, match=r"a\.mla: chunk 0 cannot be decompressed"):
        MLArray.load(path, dparams={"nthreads": 2}).to_numpy()
    with pytest.raises(FileFormatError, match="chunk 0"):
        MLArray.open(path, dparams={"nthreads": 2})[...]
    with pytest.raises(FileFormatError, match="cannot be decompressed"):
        MLArray.open(path, dparams={"nthreads": 1})[...]  # blosc2's reader agrees


def test_verify_checks_chunks_before_decoding_them(tmp_path: Path) -> None:
    data = _volume((20, 30, 40), np.int16)
    path = _save(tmp_path / "a.mla", data, (10, 10, 20), (5, 5, 10))
    damaged = bytearray(path.read_bytes())
    damaged[_first_stream_size_offset(path) + 9] ^= 0x10
    path.write_bytes(bytes(damaged))
    with pytest.raises(ChecksumError, match="chunk 0"):
        MLArray.open(path, dparams={"nthreads": 2}, verify=True)[...]


@pytest.mark.parametrize(
    ("key", "whole"),
    [
        (Ellipsis, True),
        ((), True),
        (slice(None), True),
        ((slice(None), slice(None), slice(None)), True),
        ((Ellipsis, slice(None)), True),
        ((slice(None), Ellipsis, slice(None)), True),
        (slice(0, None), False),
        (slice(None, None, 1), False),
        (0, False),
        ((Ellipsis, Ellipsis), False),
        ((slice(None),) * 4, False),
        (np.array([0, 1]), False),
        ((slice(None), np.array([True, False])), False),
    ],
)
def test_whole_array_keys(key: object, whole: bool) -> None:
    assert _is_whole(key, 3) is whole


def test_too_many_indices_still_fail(tmp_path: Path) -> None:
    path = _save(tmp_path / "a.mla", _volume((4, 5), np.int16), (2, 5), (1, 5))
    with pytest.raises(IndexError):
        MLArray.open(path, dparams={"nthreads": 2})[:, :, :]
