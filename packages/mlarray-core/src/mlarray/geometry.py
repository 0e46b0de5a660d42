"""Affine geometry of the spatial axes: composition, decomposition, validation.

Conventions (``N`` is the number of spatial axes, ``M = affine[:N, :N]``):

* The affine maps an index vector over the spatial axes, in array axis order, to
  world coordinates: ``world = M @ index + affine[:N, N]``. The last row is
  ``[0, ..., 0, 1]``.
* ``compose_affine`` builds ``M = direction @ diag(spacing)``: column ``j`` of
  ``direction`` is the world direction of index axis ``j``, and ``spacing[j]`` is
  the step along it. Spacing is positive; mirroring (a direction matrix with
  determinant -1, as between NIfTI's RAS+ and ITK's LPS+ worlds) lives in
  ``direction``, never in a negative spacing.
* ``decompose_affine`` inverts that for any non-degenerate affine: spacing is the
  length of each column of ``M``, direction is ``M`` with unit columns, so
  ``compose_affine(*decompose_affine(A))`` reproduces ``A`` up to rounding. With
  shear, that direction is not orthonormal; use the extractors below.
* ``rotation``, ``scale`` and ``shear`` factor ``M = rotation @ diag(scale) @ shear``
  by Gram-Schmidt over the columns in axis order (a QR decomposition with a
  positive diagonal): ``rotation`` is orthonormal and keeps any mirroring
  (determinant -1, an improper rotation), ``scale`` is positive, and ``shear`` is
  upper triangular with a unit diagonal (later axes leaning onto earlier ones).
  Column 0 of ``rotation`` is exactly column 0 of ``direction``; without shear,
  ``rotation`` equals ``direction`` and ``scale`` equals ``spacing`` up to rounding.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from mlarray_meta.errors import MetaTypeError, MetaValidationError

__all__ = [
    "FloatArray",
    "as_affine",
    "as_matrix",
    "as_vector",
    "compose_affine",
    "decompose_affine",
    "index_to_world",
    "rotation",
    "scale",
    "shear",
    "translation",
    "world_to_index",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]


def as_vector(value: object, n: int | None, *, field: str, positive: bool = False) -> FloatArray:
    """Validate a per-spatial-axis vector (spacing, origin, an index).

    Args:
        value: A list, tuple or ndarray of real numbers.
        n: Expected length, or None to accept any non-zero length.
        field: Name used in error messages.
        positive: Require every value to be > 0.

    Returns:
        A new float64 array of shape ``(n,)``.

    Raises:
        MetaTypeError: If ``value`` is not a sequence of real numbers.
        MetaValidationError: If the length is wrong or a value is not finite
            (or not positive when required).
    """
    array = _as_float_array(value, field)
    if array.ndim != 1 or (n is not None and array.shape[0] != n) or array.size == 0:
        expected = "one or more" if n is None else str(n)
        found = f"{array.shape[0]}" if array.ndim == 1 else f"an array of shape {array.shape}"
        raise MetaValidationError(
            f"{field}: expected {expected} values (one per spatial axis), got {found}"
        )
    _check_finite(array, field)
    if positive and not np.all(array > 0):
        raise MetaValidationError(f"{field}: expected positive values, got {array.tolist()}")
    return array


def as_matrix(value: object, n: int | None, *, field: str) -> FloatArray:
    """Validate a square matrix (direction, affine).

    Args:
        value: A nested list/tuple or a 2D ndarray of real numbers.
        n: Expected number of rows and columns, or None for any square size.
        field: Name used in error messages.

    Returns:
        A new float64 array of shape ``(n, n)``.

    Raises:
        MetaTypeError: If ``value`` is not a nested sequence of real numbers.
        MetaValidationError: If the shape is wrong or a value is not finite.
    """
    array = _as_float_array(value, field)
    size = array.shape[0] if n is None and array.ndim == 2 else n
    if array.ndim != 2 or array.shape != (size, size) or array.size == 0:
        expected = "a square matrix" if n is None else f"a {n}x{n} matrix"
        raise MetaValidationError(f"{field}: expected {expected}, got shape {array.shape}")
    _check_finite(array, field)
    return array


def as_affine(value: object, n: int | None, *, field: str = "affine") -> FloatArray:
    """Validate a homogeneous affine for ``n`` spatial axes.

    Args:
        value: A nested list/tuple or a 2D ndarray of real numbers.
        n: Number of spatial axes (the affine is ``(n + 1) x (n + 1)``), or None.
        field: Name used in error messages.

    Returns:
        A new float64 array of shape ``(n + 1, n + 1)``.

    Raises:
        MetaTypeError: If ``value`` is not a nested sequence of real numbers.
        MetaValidationError: If the shape is wrong, a value is not finite, the
            last row is not ``[0, ..., 0, 1]`` or the spatial part is singular.
    """
    affine = as_matrix(value, None if n is None else n + 1, field=field)
    dims = affine.shape[0] - 1
    if dims < 1:
        raise MetaValidationError(f"{field}: expected at least a 2x2 matrix, got 1x1")
    bottom = np.zeros(dims + 1)
    bottom[-1] = 1.0
    if not np.array_equal(affine[-1], bottom):
        raise MetaValidationError(
            f"{field}: expected the last row {bottom.tolist()}, got {affine[-1].tolist()}"
        )
    rank = int(np.linalg.matrix_rank(affine[:dims, :dims]))
    if rank < dims:
        raise MetaValidationError(
            f"{field}: the spatial {dims}x{dims} part is singular (rank {rank}), "
            f"so distinct voxels would share a world position"
        )
    return affine


def compose_affine(
    spacing: object = None,
    origin: object = None,
    direction: object = None,
    *,
    ndim: int | None = None,
) -> FloatArray:
    """Build the affine from spacing, origin and direction.

    Missing parts default to unit spacing, zero origin and the identity direction.

    Args:
        spacing: Positive step per spatial axis, or None.
        origin: World position of index 0, or None.
        direction: ``N x N`` matrix whose column ``j`` is the world direction of
            index axis ``j``, or None.
        ndim: Number of spatial axes; needed only when all three are None.

    Returns:
        The ``(N + 1) x (N + 1)`` affine.

    Raises:
        MetaTypeError: If a part has the wrong type.
        MetaValidationError: If the parts disagree on ``N`` or are invalid.
    """
    n = ndim
    spacing_v = None if spacing is None else as_vector(spacing, n, field="spacing", positive=True)
    n = n if spacing_v is None else spacing_v.shape[0]
    origin_v = None if origin is None else as_vector(origin, n, field="origin")
    n = n if origin_v is None else origin_v.shape[0]
    direction_m = None if direction is None else as_matrix(direction, n, field="direction")
    n = n if direction_m is None else direction_m.shape[0]
    if n is None:
        raise MetaValidationError(
            "compose_affine: give spacing, origin, direction or ndim to set the number of axes"
        )
    affine = np.eye(n + 1)
    linear = np.eye(n) if direction_m is None else direction_m
    affine[:n, :n] = linear if spacing_v is None else linear * spacing_v
    if origin_v is not None:
        affine[:n, n] = origin_v
    return affine


def decompose_affine(affine: object) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Split an affine into spacing, origin and direction (inverse of compose).

    Args:
        affine: A valid homogeneous affine (see :func:`as_affine`).

    Returns:
        ``(spacing, origin, direction)``: column lengths, translation and the
        spatial part with unit columns.

    Raises:
        MetaTypeError: If ``affine`` is not a matrix of real numbers.
        MetaValidationError: If ``affine`` is not a valid affine.
    """
    linear, offset = _split(affine)
    spacing = _column_norms(linear)
    return spacing, offset, linear / spacing


def translation(affine: object) -> FloatArray:
    """Return the translation (world position of index 0) of an affine."""
    return _split(affine)[1]


def scale(affine: object) -> FloatArray:
    """Return the positive scale factors of ``M = rotation @ diag(scale) @ shear``."""
    return _factor(_split(affine)[0])[1]


def rotation(affine: object) -> FloatArray:
    """Return the orthonormal factor of ``M = rotation @ diag(scale) @ shear`` (may mirror)."""
    return _factor(_split(affine)[0])[0]


def shear(affine: object) -> FloatArray:
    """Return the unit upper-triangular factor of ``M = rotation @ diag(scale) @ shear``."""
    return _factor(_split(affine)[0])[2]


def index_to_world(affine: object, index: object) -> FloatArray:
    """Map voxel indices to world coordinates.

    Args:
        affine: A valid homogeneous affine for ``N`` spatial axes.
        index: One index of length ``N``, or an array of shape ``(..., N)``;
            fractional indices are allowed.

    Returns:
        World coordinates with the shape of ``index``.

    Raises:
        MetaTypeError: If an argument is not numeric.
        MetaValidationError: If the affine is invalid or the last axis of
            ``index`` is not ``N`` long.
    """
    linear, offset = _split(affine)
    points = _as_points(index, offset.shape[0], field="index")
    return np.asarray(points @ linear.T + offset, dtype=np.float64)


def world_to_index(affine: object, world: object) -> FloatArray:
    """Map world coordinates to (fractional) voxel indices; inverse of :func:`index_to_world`.

    Args:
        affine: A valid homogeneous affine for ``N`` spatial axes.
        world: One world point of length ``N``, or an array of shape ``(..., N)``.

    Returns:
        Indices with the shape of ``world``.

    Raises:
        MetaTypeError: If an argument is not numeric.
        MetaValidationError: If the affine is invalid or the last axis of
            ``world`` is not ``N`` long.
    """
    linear, offset = _split(affine)
    points = _as_points(world, offset.shape[0], field="world")
    flat = (points - offset).reshape(-1, offset.shape[0])
    indices = np.linalg.solve(linear, flat.T).T.reshape(points.shape)
    return np.asarray(indices, dtype=np.float64)


def _split(affine: object) -> tuple[FloatArray, FloatArray]:
    matrix = as_affine(affine, None)
    n = matrix.shape[0] - 1
    return matrix[:n, :n], matrix[:n, n]


def _factor(linear: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Modified Gram-Schmidt: ``linear = q @ r`` with ``r``'s diagonal positive."""
    n = linear.shape[0]
    q = linear.copy()
    r = np.zeros((n, n))
    for j in range(n):
        for i in range(j):
            r[i, j] = q[:, i] @ q[:, j]
            q[:, j] -= r[i, j] * q[:, i]
        r[j, j] = _column_norms(q)[j]
        q[:, j] /= r[j, j]
    diagonal = np.diag(r).copy()
    return q, diagonal, r / diagonal[:, None]


def _column_norms(matrix: FloatArray) -> FloatArray:
    # One formula for decompose_affine and _factor, so column 0 agrees bit for bit.
    return np.asarray(np.linalg.norm(matrix, axis=0), dtype=np.float64)


def _as_float_array(value: object, field: str) -> FloatArray:
    if not isinstance(value, list | tuple | np.ndarray):
        raise MetaTypeError(
            f"{field}: expected a list, tuple or ndarray of numbers, got {type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except ValueError:
        raise MetaValidationError(
            f"{field}: expected a regular array, got nested sequences of unequal length"
        ) from None
    if array.dtype.kind not in "iuf":
        raise MetaTypeError(f"{field}: expected real numbers, got {array.dtype} values")
    return np.array(array, dtype=np.float64)


def _check_finite(array: FloatArray, field: str) -> None:
    if not np.all(np.isfinite(array)):
        raise MetaValidationError(f"{field}: expected finite values, got {array.tolist()}")


def _as_points(value: object, n: int, *, field: str) -> FloatArray:
    points = _as_float_array(value, field)
    if points.ndim == 0 or points.shape[-1] != n:
        raise MetaValidationError(
            f"{field}: expected {n} coordinates along the last axis (one per spatial axis), "
            f"got shape {points.shape}"
        )
    return points
