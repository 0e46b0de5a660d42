"""The creation classmethods: empty, zeros, ones, full, arange, linspace, asarray, *_like."""

from __future__ import annotations

from pathlib import Path

import blosc2
import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray.errors import MLArrayError

FILLED = [
    ("zeros", {}, 0),
    ("ones", {}, 1),
    ("full", {"fill_value": 7}, 7),
]


def _held_uncompressed(image: MLArray) -> bool:
    return np.shares_memory(image.to_numpy(), image.to_numpy())


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize(("name", "extra", "value"), FILLED)
def test_filled_constructors(name: str, extra: dict, value: int, compressed: bool) -> None:
    image = getattr(MLArray, name)((4, 5, 6), dtype=np.int16, compressed=compressed, **extra)
    expected = np.full((4, 5, 6), value, dtype=np.int16)
    np.testing.assert_array_equal(image.to_numpy(), expected)
    assert image.dtype == np.int16
    assert _held_uncompressed(image) is (not compressed)
    assert image.meta.blosc2.patch_size == [192, 192, 192], "the request, not clipped"
    assert image.meta.spatial.shape == [4, 5, 6]
    assert image.meta._has_array.value is True


@pytest.mark.parametrize("compressed", [True, False])
def test_empty_has_shape_and_dtype(compressed: bool) -> None:
    image = MLArray.empty((3, 4), np.float32, compressed=compressed)
    assert image.shape == (3, 4)
    assert image.dtype == np.float32
    image[...] = 2.5
    assert float(image.to_numpy().sum()) == 2.5 * 12


@pytest.mark.parametrize("shape", [5, [5], (5,), np.array([5])])
def test_shape_accepts_int_and_sequences(shape: object) -> None:
    assert MLArray.zeros(shape, np.uint8).shape == (5,)


@pytest.mark.parametrize("shape", [(-1, 3), (2.5, 3)])
def test_invalid_shapes_are_refused(shape: tuple) -> None:
    with pytest.raises(ValueError, match="shape"):
        MLArray.zeros(shape, np.uint8)


def test_ones_defaults_to_blosc2_default_float() -> None:
    image = MLArray.ones((2, 3))
    assert image.dtype == np.dtype(blosc2.DEFAULT_FLOAT)
    np.testing.assert_array_equal(image.to_numpy(), np.ones((2, 3)))


@pytest.mark.parametrize(
    ("fill_value", "dtype"),
    [(7, np.dtype(int)), (7.5, np.dtype(float)), (True, np.dtype(bool)), (np.int8(3), np.int8)],
)
def test_full_infers_dtype_from_the_fill_value(fill_value: object, dtype: np.dtype) -> None:
    image = MLArray.full((2, 3), fill_value)
    assert image.dtype == dtype
    np.testing.assert_array_equal(image.to_numpy(), np.full((2, 3), fill_value))


def test_full_with_explicit_dtype() -> None:
    image = MLArray.full((2, 3), 7, dtype=np.float32)
    assert image.dtype == np.float32
    assert image.to_numpy().tolist() == [[7.0] * 3] * 2


def test_meta_argument_of_constructors() -> None:
    assert MLArray.zeros((2, 3), np.uint8, meta={"a": 1}).meta.source == {"a": 1}
    image = MLArray.ones((2, 3), meta=Meta(is_seg=True, source={"b": 2}))
    assert image.meta.is_seg.value is True
    assert image.meta.source == {"b": 2}
    with pytest.raises(ValueError, match="meta"):
        MLArray.zeros((2, 3), np.uint8, meta=[1])  # type: ignore[arg-type]


def test_layout_arguments_of_constructors() -> None:
    image = MLArray.zeros(
        (16, 16, 16),
        np.uint8,
        patch_size=None,
        chunk_size=(8, 8, 16),
        block_size=(4, 4, 4),
        cparams={"codec": blosc2.Codec.ZSTD, "clevel": 2},
        dparams={"nthreads": 2},
    )
    assert image.meta.blosc2.chunk_size == [8, 8, 16]
    assert image.meta.blosc2.block_size == [4, 4, 4]
    assert image.meta.blosc2.cparams["codec"] == blosc2.Codec.ZSTD.value
    assert image.meta.blosc2.dparams == {"nthreads": 2}
    with pytest.raises(RuntimeError, match="patch_size"):
        MLArray.zeros((16, 16, 16), np.uint8, patch_size=8, chunk_size=8)


# ------------------------------------------------------------------------------- arange


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((10,), {}),
        ((2, 10), {}),
        ((2, 10, 3), {}),
        ((0.0, 1.0, 0.25), {}),
        ((10,), {"dtype": np.float32}),
        ((-5, 5), {"step": 2}),
    ],
)
def test_arange_matches_numpy(args: tuple, kwargs: dict) -> None:
    image = MLArray.arange(*args, **kwargs)
    expected = np.arange(*args, **kwargs)
    np.testing.assert_array_equal(image.to_numpy(), expected)
    assert image.dtype == expected.dtype


def test_arange_with_shape_and_order() -> None:
    c_order = MLArray.arange(0, 12, shape=(3, 4))
    np.testing.assert_array_equal(c_order.to_numpy(), np.arange(12).reshape(3, 4))
    f_order = MLArray.arange(12, shape=(3, 4), c_order=False)
    np.testing.assert_array_equal(f_order.to_numpy(), np.arange(12).reshape(3, 4, order="F"))


def test_arange_defaults_to_no_patch_optimisation() -> None:
    image = MLArray.arange(0, 64 * 64, shape=(64, 64))
    assert image.meta.blosc2.patch_size is None
    patched = MLArray.arange(0, 64 * 64, shape=(64, 64), patch_size="default")
    assert patched.meta.blosc2.patch_size == [192, 192]


def test_arange_shape_mismatch_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"shape: \[3, 3\] holds 9 values") as info:
        MLArray.arange(0, 10, shape=(3, 3))
    assert isinstance(info.value, MLArrayError)


# ----------------------------------------------------------------------------- linspace


def test_linspace_matches_numpy() -> None:
    np.testing.assert_array_equal(
        MLArray.linspace(0, 1, num=5).to_numpy(), np.linspace(0, 1, num=5)
    )
    np.testing.assert_array_equal(
        MLArray.linspace(0, 1, num=4, endpoint=False).to_numpy(),
        np.linspace(0, 1, num=4, endpoint=False),
    )
    image = MLArray.linspace(0, 10, num=6, dtype=np.float32, shape=(2, 3))
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image.to_numpy(), np.linspace(0, 10, 6, dtype="f4").reshape(2, 3))


def test_linspace_infers_num_from_shape() -> None:
    image = MLArray.linspace(0, 1, shape=(2, 3), c_order=False)
    np.testing.assert_array_equal(image.to_numpy(), np.linspace(0, 1, 6).reshape((2, 3), order="F"))
    assert image.meta.blosc2.patch_size is None


def test_linspace_needs_num_or_shape() -> None:
    with pytest.raises(ValueError, match="num or shape"):
        MLArray.linspace(0, 1)


def test_linspace_inconsistent_num_and_shape() -> None:
    with pytest.raises(ValueError, match="num=5"):
        MLArray.linspace(0, 1, num=5, shape=(2, 3))


# ------------------------------------------------------------------------------ asarray


@pytest.mark.parametrize("compressed", [True, False])
def test_asarray(compressed: bool) -> None:
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    image = MLArray.asarray(data, meta={"k": 1}, compressed=compressed)
    np.testing.assert_array_equal(image.to_numpy(), data)
    assert image.meta.source == {"k": 1}
    assert _held_uncompressed(image) is (not compressed)
    assert image.meta.blosc2.patch_size == [192, 192, 192]


@pytest.mark.parametrize("bad", [[1, 2, 3], (1, 2), blosc2.zeros((2, 2))])
def test_asarray_requires_a_numpy_array(bad: object) -> None:
    with pytest.raises(TypeError, match="ndarray"):
        MLArray.asarray(bad)  # type: ignore[arg-type]


def test_asarray_errors() -> None:
    data = np.zeros((8, 8, 8), np.float32)
    with pytest.raises(ValueError, match="meta"):
        MLArray.asarray(data, meta=3)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="patch_size"):
        MLArray.asarray(data, patch_size=4, block_size=2)
    with pytest.raises(RuntimeError, match="block_size"):
        MLArray.asarray(data, patch_size=None, block_size=2)
    with pytest.raises(NotImplementedError, match="1D"):
        MLArray.asarray(np.zeros(10), patch_size=4)


def test_asarray_non_contiguous_input() -> None:
    data = np.arange(60, dtype=np.int16).reshape(3, 4, 5)[:, ::2, ::-1]
    np.testing.assert_array_equal(MLArray.asarray(data).to_numpy(), data)
    transposed = np.arange(60, dtype=np.int16).reshape(3, 4, 5).T
    np.testing.assert_array_equal(MLArray.asarray(transposed).to_numpy(), transposed)


# -------------------------------------------------------------------------------- *_like

LIKE = [
    ("empty_like", {}, None),
    ("zeros_like", {}, 0),
    ("ones_like", {}, 1),
    ("full_like", {"fill_value": 9}, 9),
]


@pytest.mark.parametrize(("name", "extra", "value"), LIKE)
def test_like_from_numpy_takes_shape_and_dtype(name: str, extra: dict, value: int | None) -> None:
    source = np.arange(12, dtype=np.int16).reshape(3, 4)
    image = getattr(MLArray, name)(source, **extra)
    assert image.shape == (3, 4)
    assert image.dtype == np.int16
    if value is not None:
        np.testing.assert_array_equal(image.to_numpy(), np.full((3, 4), value, np.int16))


@pytest.mark.parametrize(("name", "extra", "value"), LIKE)
def test_like_from_mlarray_copies_metadata(name: str, extra: dict, value: int | None) -> None:
    source = MLArray(
        np.zeros((4, 5, 6), np.float32),
        spacing=(1, 2, 3),
        meta=Meta(source={"p": 1}, is_seg=True),
        patch_size=None,
        chunk_size=(2, 5, 6),
        block_size=(1, 5, 6),
    )
    image = getattr(MLArray, name)(source, dtype=np.uint8, **extra)
    assert image.shape == (4, 5, 6)
    assert image.dtype == np.uint8
    assert image.spacing == [1, 2, 3]
    assert image.meta.source == {"p": 1}
    assert image.meta.is_seg.value is True
    assert image.meta.blosc2.patch_size == [192, 192, 192], "the layout is chosen anew"
    source.meta.source["p"] = 2
    assert image.meta.source == {"p": 1}, "metadata is copied, not shared"
    if value is not None:
        assert image.to_numpy().tolist() == np.full((4, 5, 6), value, np.uint8).tolist()


def test_like_with_explicit_meta_does_not_copy() -> None:
    source = MLArray(np.zeros((2, 3)), meta={"p": 1}, spacing=(1, 1))
    image = MLArray.zeros_like(source, meta={"q": 2})
    assert image.meta.source == {"q": 2}
    assert image.spacing is None


@pytest.mark.parametrize("name", ["empty_like", "zeros_like", "ones_like"])
def test_like_requires_shape_and_dtype(name: str) -> None:
    with pytest.raises(TypeError, match="shape and dtype"):
        getattr(MLArray, name)([1, 2, 3])
    with pytest.raises(TypeError, match="shape and dtype"):
        getattr(MLArray, name)(MLArray())
    with pytest.raises(TypeError, match="shape and dtype"):
        MLArray.full_like(5, 1)


def test_like_accepts_blosc2_arrays_and_compressed_flag() -> None:
    image = MLArray.ones_like(blosc2.zeros((3, 4), dtype=np.int32), compressed=False)
    assert image.dtype == np.int32
    assert _held_uncompressed(image)


def test_constructed_arrays_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "arange.mla"
    MLArray.arange(0, 120, shape=(4, 5, 6), meta={"from": "arange"}).save(path)
    loaded = MLArray.load(path)
    np.testing.assert_array_equal(loaded.to_numpy(), np.arange(120).reshape(4, 5, 6))
    assert loaded.meta.source == {"from": "arange"}
