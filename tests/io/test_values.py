"""The dtype rules for scaled values, and their exact inverse."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlarray.errors import MetaValidationError
from mlarray_io._values import as_label_map, narrow_float, native, scaled, unscaled


def test_big_endian_values_come_back_native() -> None:
    stored = np.arange(6, dtype=">i2")
    result = scaled(stored, None, None)
    assert result.dtype == np.dtype("=i2")
    np.testing.assert_array_equal(result, np.arange(6))
    assert native(result) is result


@pytest.mark.parametrize(
    ("slope", "inter"), [(None, None), (0.0, 7.0), (float("nan"), 1.0), (1.0, 0.0), (1.0, None)]
)
def test_identity_scaling_keeps_the_stored_array(slope: float | None, inter: float | None) -> None:
    stored = np.arange(6, dtype=np.int16)
    assert scaled(stored, slope, inter) is stored


def test_narrow_float_keeps_float64_when_float32_would_round() -> None:
    exact = np.array([0.5, -3.25, np.nan, np.inf])
    assert narrow_float(exact).dtype == np.float32
    assert narrow_float(np.array([0.1])).dtype == np.float64
    assert narrow_float(np.array([1e300])).dtype == np.float64


def test_unscaled_refuses_what_the_stored_dtype_cannot_hold() -> None:
    assert unscaled(np.array([0.5]), np.dtype(np.int16), None, None) is None
    assert unscaled(np.array([70000]), np.dtype(np.int16), None, None) is None
    assert unscaled(np.array([np.nan]), np.dtype(np.int16), 2.0, 0.0) is None
    assert unscaled(np.array([1.0, 3.0]), np.dtype(np.int16), 2.0, 1.0).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([0.0, 255.0]), np.uint8),
        (np.array([0, 256], np.int32), np.uint16),
        (np.array([3, 70000], np.int64), np.uint32),
        (np.array([True, False]), np.uint8),
        (np.array([], np.float32), np.uint8),
    ],
)
def test_label_maps_take_the_smallest_unsigned_dtype(values: np.ndarray, expected: type) -> None:
    labels = as_label_map(values, "seg")
    assert labels.dtype == expected
    np.testing.assert_array_equal(labels, values)
    kept = np.array([1, 2], dtype=np.uint8)
    assert as_label_map(kept, "seg") is kept


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (np.array([np.nan]), "the non-finite value nan"),
        (np.array([0.0, 1.5]), "the fractional value 1.5"),
        (np.array([-1, 255], np.int16), "the negative value -1"),
    ],
)
def test_values_that_are_not_labels_are_refused(values: np.ndarray, found: str) -> None:
    with pytest.raises(MetaValidationError, match=f"seg: is_seg=True but the values are not "
                       f"labels: found {found}"):  # fmt: skip
        as_label_map(values, "seg")


stored_arrays = hnp.arrays(
    dtype=st.sampled_from([np.int8, np.uint8, np.int16, np.uint16, np.int32, np.float32]),
    shape=hnp.array_shapes(max_dims=3, max_side=5),
    elements={"allow_nan": False, "allow_infinity": False},
)
float32s = st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-1e4, max_value=1e4)


@given(stored=stored_arrays, slope=float32s.filter(lambda value: abs(value) > 1e-3), inter=float32s)
def test_scaling_is_exact_and_invertible(stored: np.ndarray, slope: float, inter: float) -> None:
    values = scaled(stored, slope, inter)
    expected = stored.astype(np.float64) * slope + inter
    np.testing.assert_array_equal(values.astype(np.float64), expected)
    back = unscaled(values, stored.dtype, slope, inter)
    assert back is not None
    np.testing.assert_array_equal(scaled(back, slope, inter), values)
