"""Property-based tests: reads and writes of random selections behave exactly like NumPy.

Random shapes (1D-4D), dtypes, chunk and block sizes, and basic indices (ints,
negative indices, slices with steps, Ellipsis), checked in memory (compressed and
not), after save/load, and through ``MLArray.open`` in each mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import basic_indices

from mlarray import MLArray

DTYPES = ["bool", "uint8", "int16", "int32", "float32", "float64"]
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OPEN_MODES = [("r", "r"), ("r", "r+"), ("r", "c"), ("r", None), ("a", None)]
WRITABLE_OPEN_MODES = [("r", "r+"), ("r", "c"), ("a", None)]


@dataclass(frozen=True)
class Case:
    """A random array with a random Blosc2 layout."""

    data: np.ndarray
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]

    def image(self, *, compressed: bool = True) -> MLArray:
        return MLArray(
            self.data.copy(),
            patch_size=None,
            chunk_size=self.chunks,
            block_size=self.blocks,
            compressed=compressed,
        )


def _values(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 1000).astype(dtype)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    chunks = tuple(draw(st.integers(1, side)) for side in shape)
    blocks = tuple(draw(st.integers(1, chunk)) for chunk in chunks)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return Case(_values(rng, shape, dtype), chunks, blocks)


def _indices(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return basic_indices(shape, min_dims=0, allow_ellipsis=True, allow_newaxis=False)


@st.composite
def reads(draw: st.DrawFn, shape: tuple[int, ...]) -> list[Any]:
    return draw(st.lists(_indices(shape), min_size=1, max_size=4))


@st.composite
def writes(draw: st.DrawFn, case: Case) -> list[tuple[Any, Any]]:
    """Index/value pairs: full-shape values, scalars and values NumPy broadcasts."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    result = []
    for key in draw(st.lists(_indices(case.data.shape), min_size=1, max_size=3)):
        target = case.data[key].shape
        kind = draw(st.sampled_from(["full", "scalar", "broadcast"]))
        if kind == "scalar" or not target:
            value: Any = _values(rng, (), case.data.dtype)[()]
        elif kind == "broadcast":
            value = _values(rng, target[-1:], case.data.dtype)
        else:
            value = _values(rng, target, case.data.dtype)
        result.append((key, value))
    return result


def _check_reads(image: MLArray, expected: np.ndarray, keys: list[Any]) -> None:
    for key in keys:
        got = np.asarray(image[key])
        assert got.shape == expected[key].shape, key
        assert got.dtype == expected.dtype, key
        np.testing.assert_array_equal(got, expected[key], err_msg=repr(key))


def _apply(image: MLArray, expected: np.ndarray, pairs: list[tuple[Any, Any]]) -> None:
    for key, value in pairs:
        image[key] = value
        expected[key] = value


@SETTINGS
@given(data=st.data(), case=cases(), compressed=st.booleans())
def test_in_memory_reads_and_writes_match_numpy(
    data: st.DataObject, case: Case, compressed: bool
) -> None:
    image = case.image(compressed=compressed)
    expected = case.data.copy()
    if compressed:
        assert image.meta.blosc2.chunk_size == list(case.chunks)
        assert image.meta.blosc2.block_size == list(case.blocks)
    _check_reads(image, expected, data.draw(reads(case.data.shape)))
    _apply(image, expected, data.draw(writes(case)))
    np.testing.assert_array_equal(image.to_numpy(), expected)
    _check_reads(image, expected, data.draw(reads(case.data.shape)))


@SETTINGS
@given(data=st.data(), case=cases())
def test_saved_files_read_like_numpy_in_every_mode(
    data: st.DataObject, case: Case, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("prop") / "case.mla"
    image = case.image(compressed=data.draw(st.booleans(), label="compressed"))
    image.save(path)
    keys = data.draw(reads(case.data.shape))
    for compressed in (True, False):
        loaded = MLArray.load(path, compressed=compressed)
        np.testing.assert_array_equal(loaded.to_numpy(), case.data)
        _check_reads(loaded, case.data, keys)
    for mode, mmap_mode in OPEN_MODES:
        opened = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
        assert opened.meta.blosc2.chunk_size == list(case.chunks)
        assert opened.meta.blosc2.block_size == list(case.blocks)
        _check_reads(opened, case.data, keys)
        opened.close()


@SETTINGS
@given(data=st.data(), case=cases(), modes=st.sampled_from(WRITABLE_OPEN_MODES))
def test_writes_through_open_match_numpy(
    data: st.DataObject,
    case: Case,
    modes: tuple[str, str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = tmp_path_factory.mktemp("prop") / "case.mla"
    case.image().save(path)
    mode, mmap_mode = modes
    image = MLArray.open(path, mode=mode, mmap_mode=mmap_mode)
    expected = case.data.copy()
    _apply(image, expected, data.draw(writes(case)))
    _check_reads(image, expected, data.draw(reads(case.data.shape)))
    np.testing.assert_array_equal(image[...], expected)
    image.close()
    on_disk = MLArray.load(path).to_numpy()
    np.testing.assert_array_equal(on_disk, case.data if mmap_mode == "c" else expected)


@SETTINGS
@given(data=st.data(), case=cases())
def test_modified_in_memory_image_saves_exactly(
    data: st.DataObject, case: Case, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("prop") / "case.mla"
    image = MLArray.load(_saved(case, path))
    expected = case.data.copy()
    _apply(image, expected, data.draw(writes(case)))
    image.save(path)
    np.testing.assert_array_equal(MLArray.load(path).to_numpy(), expected)
    np.testing.assert_array_equal(MLArray.open(path)[...], expected)


def _saved(case: Case, path: Any) -> Any:
    case.image().save(path)
    return path


@SETTINGS
@given(case=cases(), nthreads=st.integers(2, 4))
def test_whole_reads_on_threads_match_numpy(
    case: Case, nthreads: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("whole") / "case.mla"
    case.image().save(path)
    dparams = {"nthreads": nthreads}
    np.testing.assert_array_equal(MLArray.load(path, dparams=dparams).to_numpy(), case.data)
    opened = MLArray.open(path, dparams=dparams)
    _check_reads(opened, case.data, [Ellipsis, (), slice(None)])
