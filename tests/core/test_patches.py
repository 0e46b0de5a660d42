"""MLArray.read_patches: batches of same-sized patches for dataloaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlarray import MLArray
from mlarray.errors import MetaTypeError, MetaValidationError, NoArrayError

SHAPE = (3, 24, 32, 40)
LABELS = ["channel", "spatial_z", "spatial_y", "spatial_x"]


@pytest.fixture
def source() -> np.ndarray:
    return np.random.default_rng(7).integers(-1000, 1000, SHAPE).astype(np.int16)


@pytest.fixture(params=["memory", "numpy", "file"])
def image(request: pytest.FixtureRequest, source: np.ndarray, tmp_path: Path) -> MLArray:
    if request.param == "numpy":
        return MLArray(source, axis_labels=LABELS, compressed=False)
    made = MLArray(source, axis_labels=LABELS, patch_size=16)
    if request.param == "memory":
        return made
    made.save(tmp_path / "patches.mla")
    return MLArray.open(tmp_path / "patches.mla", mmap_mode="r")


def test_spatial_starts_read_every_channel(image: MLArray, source: np.ndarray) -> None:
    starts = [(0, 0, 0), (8, 16, 25), (16, 24, 32)]
    batch = image.read_patches(starts, 8)
    assert batch.shape == (3, 3, 8, 8, 8)
    assert batch.dtype == source.dtype
    for patch, (z, y, x) in zip(batch, starts, strict=True):
        np.testing.assert_array_equal(patch, source[:, z : z + 8, y : y + 8, x : x + 8])


def test_full_starts_and_sizes_select_channels_too(image: MLArray, source: np.ndarray) -> None:
    batch = image.read_patches([(1, 2, 3, 4)], (2, 5, 6, 7))
    np.testing.assert_array_equal(batch[0], source[1:3, 2:7, 3:9, 4:11])


def test_out_buffer_is_filled_in_place(image: MLArray, source: np.ndarray) -> None:
    out = np.full((2, 3, 4, 5, 6), 99, dtype=np.int16)
    result = image.read_patches([(0, 0, 0), (10, 11, 12)], (4, 5, 6), out=out)
    assert result is out
    np.testing.assert_array_equal(out[1], source[:, 10:14, 11:16, 12:18])


@pytest.mark.parametrize(
    ("out", "match"),
    [
        (np.zeros((2, 3, 4, 5, 6), np.float32), "int16 array"),
        (np.zeros((1, 3, 4, 5, 6), np.int16), r"shape \[2, 3, 4, 5, 6\]"),
        (np.zeros((2, 3, 4, 5, 12), np.int16)[..., ::2], "non-contiguous"),
    ],
)
def test_an_unfit_out_buffer_is_refused(image: MLArray, out: np.ndarray, match: str) -> None:
    with pytest.raises(MetaTypeError, match=match):
        image.read_patches([(0, 0, 0), (1, 1, 1)], (4, 5, 6), out=out)


@pytest.mark.parametrize(
    ("starts", "size", "match"),
    [
        ([(20, 0, 0)], 8, r"patch 0: axis 1 spans 20:28, outside 0:24"),
        ([(0, 0, 0), (0, -1, 0)], 8, r"patch 1: axis 2 spans -1:7"),
        ([(0, 0)], 8, "expected a start with 4 .* or 3"),
        ([(0, 0, 0)], (8, 8), "patch size: expected 4 .* or 3"),
        ([(0, 0, 0)], 0, "axis 1 must be in 1..24"),
    ],
)
def test_bad_patches_are_refused_with_the_patch_named(
    image: MLArray, starts: list[tuple[int, ...]], size: int | tuple[int, ...], match: str
) -> None:
    with pytest.raises(MetaValidationError, match=match):
        image.read_patches(starts, size)


def test_metadata_only_has_no_patches() -> None:
    with pytest.raises(NoArrayError):
        MLArray().read_patches([(0, 0, 0)], 1)


def test_verified_reads_check_the_chunks_patches_touch(tmp_path: Path, source: np.ndarray) -> None:
    path = tmp_path / "verified.mla"
    MLArray(source, axis_labels=LABELS, patch_size=16).save(path)
    image = MLArray.open(path, verify=True)
    np.testing.assert_array_equal(image.read_patches([(3, 4, 5)], 6)[0], source[:, 3:9, 4:10, 5:11])
