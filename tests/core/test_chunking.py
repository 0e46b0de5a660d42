"""Tests of mlarray.chunking: the chunk/block heuristic and argument resolution."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlarray.chunking import (
    MLARRAY_DEFAULT_PATCH_SIZE,
    Layout,
    LayoutError,
    comp_blosc2_params,
    resolve_layout,
)
from mlarray_meta.errors import MetaTypeError, MetaValidationError, MLArrayError

L1 = 32768
L3 = 1441792


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@st.composite
def problems(draw: st.DrawFn) -> dict[str, object]:
    n_spatial = draw(st.sampled_from([2, 3]))
    non_spatial = draw(st.integers(min_value=-1, max_value=n_spatial))  # -1: none
    mask = [True] * n_spatial
    if non_spatial >= 0:
        mask.insert(non_spatial, False)
    image = draw(st.lists(st.integers(1, 700), min_size=len(mask), max_size=len(mask)))
    patch = draw(st.lists(st.integers(1, 400), min_size=n_spatial, max_size=n_spatial))
    return {
        "image_size": image,
        "patch_size": patch,
        "spatial_axis_mask": mask,
        "bytes_per_pixel": draw(st.sampled_from([1, 2, 4, 8])),
        "l1_cache_size_per_core_in_bytes": draw(st.sampled_from([4096, L1, 49152, 65536])),
        "l3_cache_size_per_core_in_bytes": draw(st.sampled_from([262144, L3, 4194304])),
        "safety_factor": draw(st.floats(0.1, 1.0)),
    }


@given(problems())
def test_layout_properties(problem: dict[str, object]) -> None:
    chunk, block = comp_blosc2_params(**problem)  # type: ignore[arg-type]
    image: list[int] = problem["image_size"]  # type: ignore[assignment]
    mask: list[bool] = problem["spatial_axis_mask"]  # type: ignore[assignment]
    itemsize: int = problem["bytes_per_pixel"]  # type: ignore[assignment]
    factor: float = problem["safety_factor"]  # type: ignore[assignment]
    l1_elements = int(problem["l1_cache_size_per_core_in_bytes"] * factor) // itemsize  # type: ignore[operator]
    l3_elements = int(problem["l3_cache_size_per_core_in_bytes"] * factor) // itemsize  # type: ignore[operator]
    spatial = [s for s, m in zip(image, mask, strict=True) if m]
    patch = [min(p, s) for p, s in zip(problem["patch_size"], spatial, strict=True)]  # type: ignore[call-overload]

    assert len(chunk) == len(block) == len(image)
    for c, b, s, m in zip(chunk, block, image, mask, strict=True):
        assert _is_power_of_two(b)
        assert b <= c <= s
        assert c % b == 0 or c == s, "chunks hold whole blocks unless they span the image"
        if not m:
            assert c == b == 1
    spatial_block = [b for b, m in zip(block, mask, strict=True) if m]
    spatial_chunk = [c for c, m in zip(chunk, mask, strict=True) if m]
    assert all(b <= p for b, p in zip(spatial_block, patch, strict=True))
    assert math.prod(block) <= max(l1_elements, 1)
    if spatial_chunk != spatial_block:
        assert math.prod(chunk) <= l3_elements
        assert math.prod(chunk) <= 1.5 ** len(patch) * math.prod(patch)
    # The block grew as far as the rules allow: no side can double any more.
    for b, p in zip(spatial_block, patch, strict=True):
        assert 2 * b > p or 2 * math.prod(block) > l1_elements


@pytest.mark.parametrize(
    ("image", "patch", "mask", "itemsize", "chunk", "block"),
    [
        ((256, 512, 512), (192, 192, 192), None, 2, [64, 80, 96], [16, 16, 32]),
        ((256, 512, 512), (192, 192, 192), None, 4, [64, 64, 64], [16, 16, 16]),
        ((512, 512), (192, 192), None, 2, [320, 256], [64, 128]),
        ((2, 256, 512, 512), (192, 192, 192), None, 2, [1, 64, 80, 96], [1, 16, 16, 32]),
        ((512, 512, 3), (192, 192), [True, True, False], 1, [256, 256, 1], [128, 128, 1]),
        ((20, 20, 20), (192, 192, 192), None, 2, [20, 20, 20], [16, 16, 16]),
        ((64, 512, 512), (16, 256, 256), None, 2, [14, 192, 192], [2, 64, 64]),
    ],
)
def test_known_layouts(
    image: tuple[int, ...],
    patch: tuple[int, ...],
    mask: list[bool] | None,
    itemsize: int,
    chunk: list[int],
    block: list[int],
) -> None:
    assert comp_blosc2_params(image, patch, mask, bytes_per_pixel=itemsize) == (chunk, block)


def test_anisotropic_patch_gives_anisotropic_block() -> None:
    _, block = comp_blosc2_params((128, 512, 512), (32, 256, 256), bytes_per_pixel=2)
    assert block == [4, 32, 64]


def test_patch_of_one_keeps_axis_unblocked() -> None:
    chunk, block = comp_blosc2_params((100, 512, 512), (1, 192, 192), bytes_per_pixel=2)
    assert block[0] == 1
    assert chunk[0] <= 2


def test_numpy_inputs_accepted() -> None:
    sizes = np.array([256, 512, 512], dtype=np.int64)
    patch = (np.int32(192),) * 3
    mask = np.array([True, True, True])
    assert comp_blosc2_params(sizes, patch, mask, bytes_per_pixel=2) == (
        [64, 80, 96],
        [16, 16, 32],
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image_size": (64,), "patch_size": (8,)}, NotImplementedError, "1D"),
        ({"image_size": (2,) * 5, "patch_size": (2, 2, 2)}, NotImplementedError, "5D"),
        (
            {"image_size": (2, 3, 64, 64), "patch_size": (8, 8), "spatial_axis_mask": [0, 0, 1, 1]},
            MetaTypeError,
            "spatial_axis_mask: expected bools",
        ),
        (
            {
                "image_size": (2, 3, 64, 64),
                "patch_size": (8, 8),
                "spatial_axis_mask": [False, False, True, True],
            },
            NotImplementedError,
            "at most one non-spatial axis",
        ),
        (
            {"image_size": (3, 64), "patch_size": (8,), "spatial_axis_mask": [False, True]},
            NotImplementedError,
            "2 or 3 spatial axes",
        ),
        (
            {
                "image_size": (64, 64, 64, 64),
                "patch_size": (8,) * 4,
                "spatial_axis_mask": [True] * 4,
            },
            NotImplementedError,
            "2 or 3 spatial axes",
        ),
        (
            {"image_size": (64, 64, 64), "patch_size": (8, 8), "spatial_axis_mask": [True, True]},
            MetaValidationError,
            r"spatial_axis_mask: expected 3 values \(one per axis\), got 2",
        ),
        (
            {"image_size": (64, 64, 64), "patch_size": (8, 8)},
            MetaValidationError,
            r"patch_size: expected 3 values \(one per axis\), got 2",
        ),
        (
            {"image_size": (4, 64, 64, 64), "patch_size": (8,) * 4},
            MetaValidationError,
            "patch_size: expected 3 values",
        ),
        ({"image_size": (0, 64), "patch_size": (8, 8)}, MetaValidationError, "image_size"),
        ({"image_size": (64, 64), "patch_size": (8, -1)}, MetaValidationError, "patch_size"),
        ({"image_size": (64, 64.0), "patch_size": (8, 8)}, MetaTypeError, "image_size"),
        ({"image_size": (64, True), "patch_size": (8, 8)}, MetaTypeError, "image_size"),
        ({"image_size": "64x64", "patch_size": (8, 8)}, MetaTypeError, "image_size"),
        ({"image_size": (64, 64), "patch_size": 8}, MetaTypeError, "patch_size"),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "spatial_axis_mask": "TT"},
            MetaTypeError,
            "spatial_axis_mask",
        ),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "bytes_per_pixel": 0},
            MetaValidationError,
            "bytes_per_pixel",
        ),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "safety_factor": 0.0},
            MetaValidationError,
            "safety_factor",
        ),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "safety_factor": "0.8"},
            MetaTypeError,
            "safety_factor",
        ),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "safety_factor": 1.5},
            MetaValidationError,
            "safety_factor",
        ),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "l1_cache_size_per_core_in_bytes": -1},
            MetaValidationError,
            "l1_cache_size_per_core_in_bytes",
        ),
        (
            {"image_size": (64, 64), "patch_size": (8, 8), "l3_cache_size_per_core_in_bytes": 1.5},
            MetaTypeError,
            "l3_cache_size_per_core_in_bytes",
        ),
    ],
)
def test_comp_blosc2_params_errors(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        comp_blosc2_params(**kwargs)  # type: ignore[arg-type]


def test_validation_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="patch_size"):
        comp_blosc2_params((64, 64), (8, 8, 8))


# resolve_layout ---------------------------------------------------------------------------


def test_default_patch_is_192_and_clipped() -> None:
    assert MLARRAY_DEFAULT_PATCH_SIZE == 192
    layout = resolve_layout((256, 512, 512), 2)
    assert layout == Layout((64, 80, 96), (16, 16, 32), (192, 192, 192))
    small = resolve_layout((100, 300, 50), 2)
    assert small.patch_size == (100, 192, 50)
    chunk, block = comp_blosc2_params((100, 300, 50), (100, 192, 50), bytes_per_pixel=2)
    assert (small.chunk_size, small.block_size) == (tuple(chunk), tuple(block))


def test_int_and_sequence_patch() -> None:
    assert resolve_layout((256, 256), 4, patch_size=64).patch_size == (64, 64)
    layout = resolve_layout((64, 256, 256), 4, patch_size=[32, 128, 128])
    assert layout.patch_size == (32, 128, 128)
    assert layout.block_size is not None
    assert layout.block_size[0] < layout.block_size[2]


def test_ndarray_patch_size() -> None:
    layout = resolve_layout((64, 256, 256), 2, patch_size=np.array([32, 128, 128]))
    assert layout.patch_size == (32, 128, 128)


def test_non_spatial_axis_from_mask() -> None:
    layout = resolve_layout((4, 128, 128, 128), 4)
    assert layout.patch_size == (128, 128, 128)
    assert layout.chunk_size is not None
    assert layout.block_size is not None
    assert layout.chunk_size[0] == layout.block_size[0] == 1
    last = resolve_layout((128, 128, 3), 1, patch_size=64, spatial_axis_mask=[True, True, False])
    assert last.patch_size == (64, 64)
    assert last.chunk_size is not None
    assert last.chunk_size[2] == 1


def test_default_patch_gives_way_to_explicit_sizes() -> None:
    assert resolve_layout((64, 64, 64), 2, chunk_size=32) == Layout((32, 32, 32), None, None)
    assert resolve_layout((64, 64, 64), 2, chunk_size=[32, 64, 64], block_size=16) == Layout(
        (32, 64, 64), (16, 16, 16), None
    )


def test_patch_none_uses_explicit_sizes() -> None:
    assert resolve_layout((64, 64), 2, patch_size=None) == Layout(None, None, None)
    layout = resolve_layout((64, 64, 64, 2, 2), 2, patch_size=None, chunk_size=(8, 8, 8, 1, 2))
    assert layout == Layout((8, 8, 8, 1, 2), None, None)
    array_sizes = resolve_layout(
        (64, 64), 2, patch_size=None, chunk_size=np.array([32, 32]), block_size=(np.int64(16), 8)
    )
    assert array_sizes == Layout((32, 32), (16, 8), None)


def test_empty_array_gets_no_automatic_layout() -> None:
    assert resolve_layout((0, 64, 64), 2) == Layout(None, None, None)


def test_layout_is_frozen() -> None:
    layout = resolve_layout((64, 64), 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.chunk_size = (1, 1)  # type: ignore[misc]


def test_layout_error_is_runtime_error() -> None:
    assert issubclass(LayoutError, MLArrayError)
    assert issubclass(LayoutError, RuntimeError)


@pytest.mark.parametrize(
    ("shape", "kwargs", "error", "match"),
    [
        ((64, 64), {"patch_size": 32, "chunk_size": 32}, LayoutError, "cannot be combined"),
        ((64, 64), {"patch_size": [32, 32], "block_size": 16}, LayoutError, "cannot be combined"),
        ((64, 64), {"patch_size": None, "block_size": 16}, LayoutError, "needs a chunk_size"),
        ((64, 64), {"block_size": 16}, LayoutError, "needs a chunk_size"),
        (
            (64, 64),
            {"patch_size": None, "chunk_size": 16, "block_size": (8, 32)},
            LayoutError,
            "exceeds chunk_size",
        ),
        (
            (64, 64),
            {"patch_size": None, "chunk_size": (16, 16, 16)},
            MetaValidationError,
            r"chunk_size: expected 2 values \(one per axis\), got 3",
        ),
        (
            (64, 64),
            {"patch_size": None, "chunk_size": 16, "block_size": [8]},
            MetaValidationError,
            "block_size: expected 2 values",
        ),
        ((64, 64), {"patch_size": None, "chunk_size": 0}, MetaValidationError, "chunk_size"),
        ((64, 64), {"patch_size": None, "chunk_size": 1.5}, MetaTypeError, "chunk_size"),
        ((64, 64), {"patch_size": None, "chunk_size": "16"}, MetaTypeError, "chunk_size"),
        ((64, 64), {"patch_size": "auto"}, MetaValidationError, "patch_size: expected 'default'"),
        (
            (64, 64, 64),
            {"patch_size": (32, 32)},
            MetaValidationError,
            r"patch_size: expected 3 values \(one per spatial axis\), got 2",
        ),
        ((64, 64), {"patch_size": 0}, MetaValidationError, "patch_size"),
        ((64, 64), {"patch_size": 2.5}, MetaTypeError, "patch_size"),
        ((64,), {}, NotImplementedError, "1D"),
        ((2, 2, 8, 8, 8), {}, NotImplementedError, "5D"),
        (
            (8, 8, 8, 8),
            {"spatial_axis_mask": [True] * 4},
            NotImplementedError,
            "2 or 3 spatial axes",
        ),
        ((64, -1), {}, MetaValidationError, "shape"),
    ],
)
def test_resolve_layout_errors(
    shape: tuple[int, ...], kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        resolve_layout(shape, 2, **kwargs)  # type: ignore[arg-type]


def test_explicit_sizes_work_for_any_dimensionality() -> None:
    assert resolve_layout((64,), 2, patch_size=None, chunk_size=16, block_size=8) == Layout(
        (16,), (8,), None
    )
