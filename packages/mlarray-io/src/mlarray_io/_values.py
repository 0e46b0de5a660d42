"""Voxel values: applying and inverting intensity scaling without losing precision.

The rules (documented in ``docs/geometry.md``):

* The identity scaling (no slope, a slope of 0 or NaN, or slope 1 with intercept 0)
  keeps the stored values and their dtype (in native byte order).
* An integral slope and intercept on integer data keep an integer dtype: the stored
  one when the scaled values fit in it, else the narrowest integer dtype that holds
  them.
* Any other scaling is computed in float64; the result is float32 when float32
  holds every value exactly, else float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray._labels import label_problem
from mlarray.errors import MetaValidationError

__all__ = ["as_label_map", "narrow_float", "native", "scaled", "unscaled"]

Array = npt.NDArray[Any]


def native(array: Array) -> Array:
    """Return ``array`` in native byte order (a no-op when it already is)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


def _is_identity(slope: float | None, inter: float | None) -> bool:
    if slope is None or slope == 0 or not math.isfinite(slope):
        return True
    return slope == 1 and (inter is None or inter == 0 or not math.isfinite(inter))


def _offset(inter: float | None) -> float:
    """The intercept to add: an unset (None or NaN) intercept is 0."""
    return 0.0 if inter is None or not math.isfinite(inter) else float(inter)


_UNSIGNED = tuple(
    (np.dtype(t), int(np.iinfo(t).min), int(np.iinfo(t).max))
    for t in (np.uint8, np.uint16, np.uint32, np.uint64)
)
_SIGNED = tuple(
    (np.dtype(t), int(np.iinfo(t).min), int(np.iinfo(t).max))
    for t in (np.int8, np.int16, np.int32, np.int64)
)


def _narrowest_int(lo: int, hi: int) -> np.dtype[Any] | None:
    """The smallest integer dtype holding every value from ``lo`` to ``hi`` (None if none does).

    The range decides, not the dtypes of its ends: -1023..975 fits int16, though
    975 alone would be uint16 and the two dtypes together int32.
    """
    candidates = _UNSIGNED if lo >= 0 else _SIGNED
    return next((dtype for dtype, low, high in candidates if low <= lo and hi <= high), None)


def _integral_result_dtype(raw: Array, slope: int, inter: int) -> np.dtype[Any] | None:
    """The dtype of ``raw * slope + inter`` computed in integers, or None if int64 overflows."""
    lo, hi = int(raw.min()), int(raw.max())
    ends = sorted((lo * slope + inter, hi * slope + inter))
    products = (lo * slope, hi * slope)
    if max(map(abs, (*ends, *products))) >= 2**63:
        return None
    info = np.iinfo(raw.dtype)
    if info.min <= ends[0] and ends[1] <= info.max:
        return np.dtype(raw.dtype).newbyteorder("=")
    return _narrowest_int(*ends)


def narrow_float(values: Array) -> Array:
    """Return float64 ``values`` as float32 when that is exact, else unchanged."""
    if values.dtype != np.float64:
        return values
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32)
    if np.array_equal(narrow, values, equal_nan=True):
        return narrow
    return values


def scaled(raw: Array, slope: float | None, inter: float | None) -> Array:
    """Apply ``raw * slope + inter`` following the dtype rules of this module.

    Args:
        raw: The stored values.
        slope: Scale factor; None, 0 or NaN mean "no scaling".
        inter: Intercept; None or NaN mean 0 when a slope is set.

    Returns:
        The scaled values in native byte order.
    """
    raw = native(raw)
    if _is_identity(slope, inter):
        return raw
    assert slope is not None
    offset = _offset(inter)
    if raw.dtype.kind in "iu" and raw.size and float(slope).is_integer() and offset.is_integer():
        dtype = _integral_result_dtype(raw, int(slope), int(offset))
        if dtype is not None:
            return (raw.astype(np.int64) * int(slope) + int(offset)).astype(dtype)
    return narrow_float(raw.astype(np.float64) * float(slope) + offset)


def unscaled(
    values: Array, dtype: np.dtype[Any], slope: float | None, inter: float | None
) -> Array | None:
    """Invert :func:`scaled` exactly, or return None when that is impossible.

    Args:
        values: The values to store.
        dtype: The stored dtype wanted (any byte order; the result is native).
        slope: The scale factor the stored values will carry.
        inter: The intercept the stored values will carry.

    Returns:
        Stored values ``raw`` with ``scaled(raw, slope, inter) == values`` exactly
        (NaN matching NaN), or None if no such array of ``dtype`` exists.
    """
    target = np.dtype(dtype).newbyteorder("=")
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if _is_identity(slope, inter):
            candidate = values
        else:
            assert slope is not None
            candidate = (values.astype(np.float64) - _offset(inter)) / float(slope)
        if target.kind in "iu":
            if candidate.dtype.kind in "fc":
                if not np.all(np.isfinite(candidate)):
                    return None
                candidate = np.rint(candidate)
            info = np.iinfo(target)
            if candidate.size and (candidate.min() < info.min or candidate.max() > info.max):
                return None
        raw = np.asarray(candidate).astype(target, copy=False)
    if np.array_equal(scaled(raw, slope, inter), values, equal_nan=values.dtype.kind in "fc"):
        return raw
    return None


def as_label_map(values: Array, where: str) -> Array:
    """Return labels in the smallest unsigned integer dtype that holds them.

    A label map holds integers >= 0: integral floats and wider integer dtypes
    are narrowed (uint8 for labels up to 255), booleans become uint8.

    Args:
        values: The voxel values.
        where: The file or object, for error messages.

    Raises:
        MetaValidationError: If a value is fractional, negative or not finite.
    """
    problem = label_problem(values)
    if problem is not None:
        raise MetaValidationError(
            f"{where}: is_seg=True but the values are not labels: found {problem} "
            "(a label map holds integers >= 0)"
        )
    dtype = _narrowest_int(0, int(values.max()) if values.size else 0)
    if dtype is None:
        raise MetaValidationError(f"{where}: is_seg=True but the labels do not fit in 64 bits")
    if values.dtype == dtype:
        return native(values)
    return values.astype(dtype)
