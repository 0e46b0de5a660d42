"""A label map (meta.is_seg True) is saved only when it holds labels: integers >= 0."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mlarray import Meta, MLArray
from mlarray.errors import MetaValidationError


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (np.array([0.0, 1.0, 0.5], np.float32), "the fractional value 0.5"),
        (np.array([0, 2, -1], np.int16), "the negative value -1"),
        (np.array([0.0, np.nan]), "the non-finite value nan"),
        (np.array([0.0, -2.0]), "the negative value -2.0"),
        (np.array([1 + 1j, 0j]), "complex128 values"),
    ],
    ids=["fraction", "negative-int", "nan", "negative-float", "complex"],
)
@pytest.mark.parametrize("compressed", [True, False])
def test_values_that_are_not_labels_are_refused_on_save(
    tmp_path: Path, values: np.ndarray, found: str, compressed: bool
) -> None:
    image = MLArray(np.tile(values, (3, 4, 1)), meta=Meta(is_seg=True), compressed=compressed)
    target = tmp_path / "seg.mla"
    message = f"seg.mla: meta.is_seg is True but the array holds {found}; a label map holds"
    with pytest.raises(MetaValidationError, match=re.escape(message)) as caught:
        image.save(target)
    assert isinstance(caught.value, ValueError)
    assert not target.exists()
    image.meta.is_seg = None  # the same values as an image save fine
    image.save(target)
    np.testing.assert_array_equal(MLArray.load(target).to_numpy(), np.tile(values, (3, 4, 1)))


@pytest.mark.parametrize(
    "values",
    [
        np.array([0, 1, 255], np.uint8),
        np.array([0, 7, 30000], np.int16),
        np.array([0.0, 4.0, 12.0], np.float32),
        np.array([True, False]),
    ],
    ids=["uint8", "int16", "integral-float", "bool"],
)
def test_labels_of_any_dtype_are_saved(tmp_path: Path, values: np.ndarray) -> None:
    MLArray(np.tile(values, (2, 2, 1)), meta=Meta(is_seg=True)).save(tmp_path / "seg.mla")
    loaded = MLArray.load(tmp_path / "seg.mla")
    assert loaded.meta.is_seg.value is True
    assert loaded.dtype == values.dtype


def test_a_fractional_value_in_a_late_chunk_is_found(tmp_path: Path) -> None:
    labels = np.zeros((300, 256, 256), np.float32)  # more than one checked slab
    labels[-1, -1, -1] = 2.5
    image = MLArray(labels, meta=Meta(is_seg=True))
    with pytest.raises(MetaValidationError, match=r"fractional value 2\.5"):
        image.save(tmp_path / "seg.mla")


def test_files_holding_other_values_still_open(tmp_path: Path) -> None:
    """Reading is lenient: only save() reads the values to check them."""
    path = tmp_path / "probabilities.mla"
    MLArray(np.full((4, 4, 4), 0.25, np.float32)).save(path)
    image = MLArray.open(path, mmap_mode="r+")
    image.meta.is_seg = True
    image.close()
    assert MLArray.load(path).meta.is_seg.value is True
