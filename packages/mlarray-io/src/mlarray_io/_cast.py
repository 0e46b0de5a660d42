"""Changing the dtype of an image on request (``--cast``), never silently losing values.

Formats store a fixed set of dtypes: NIfTI has no float16, ITK neither float16
nor 128-bit floats. A cast asked for converts the values with NumPy, refusing
what would change them beyond rounding: values out of the new dtype's range
(or overflowing to infinity), fractional or non-finite values for an integer
dtype, imaginary parts for a real one. Floats cast to a narrower float are
rounded to the nearest representable value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray.errors import ArgumentValueError

__all__ = ["cast_hint", "cast_values", "parse_dtype"]

Array = npt.NDArray[Any]


def parse_dtype(name: str) -> np.dtype[Any]:
    """The dtype named ``name`` (``"float32"``, ``"uint8"``, ...).

    Raises:
        ArgumentValueError: If NumPy knows no such dtype, or it is not numeric.
    """
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufc":
        raise ArgumentValueError(
            f"cast: expected a numeric NumPy dtype such as 'float32' or 'int16', got {name!r}",
            path="cast",
        )
    return dtype


def cast_hint(dtype: np.dtype[Any]) -> str:
    """The advice appended to "this format cannot store ``dtype``": which cast to ask for."""
    target = "float32" if dtype.kind == "f" and dtype.itemsize < 4 else "float64"
    if dtype.kind == "c":
        target = "complex128"
    return (
        f"; cast the values first: mlarray convert --cast {target}, "
        f"or convert_file(..., cast={target!r})"
    )


def _problem(values: Array, target: np.dtype[Any]) -> str | None:
    """Why ``values`` cannot be cast to ``target`` without changing them, or None."""
    if values.dtype.kind == "c" and target.kind != "c":
        imaginary = values[values.imag != 0]
        if imaginary.size:
            return f"the complex value {imaginary.flat[0].item()!r}"
        values = values.real
    if target.kind in "iub" and values.dtype.kind in "fc":
        bad = values[~np.isfinite(values) | (values != np.round(values))]
        if bad.size:
            return f"the value {bad.flat[0].item()!r}, which is not an integer"
    if target.kind in "iu" and values.size:
        info = np.iinfo(target)
        lowest, highest = values.min(), values.max()
        if lowest < info.min or highest > info.max:
            return (
                f"values from {lowest.item()!r} to {highest.item()!r} "
                f"({target} holds {info.min} to {info.max})"
            )
    if target.kind == "b" and values.size and not np.isin(values, (0, 1)).all():
        return "values other than 0 and 1"
    if target.kind in "fc" and values.dtype.kind in "fc" and values.size:
        with np.errstate(over="ignore"):
            overflow = np.isfinite(values) & ~np.isfinite(values.astype(target))
        if overflow.any():
            return f"the value {values[overflow].flat[0].item()!r}, too large for {target}"
    return None


def cast_values(values: Array, dtype: np.dtype[Any], where: str) -> Array:
    """Return ``values`` as ``dtype``, refusing a cast that changes them beyond rounding.

    Args:
        values: The voxel values.
        dtype: The dtype wanted.
        where: The file, for the message.

    Raises:
        ArgumentValueError: If a value cannot be held by ``dtype``.
    """
    if values.dtype == dtype:
        return values
    problem = _problem(values, dtype)
    if problem is not None:
        raise ArgumentValueError(
            f"{where}: cannot cast {values.dtype} to {dtype}: found {problem}", path="cast"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        return (values.real if dtype.kind != "c" else values).astype(dtype)
