"""World frames and axis roles: RAS+/LPS+, NIfTI/ITK affines, reorientation.

Conventions (``docs/geometry.md`` explains them with an example):

* Voxel order is nibabel's: spatial axes ``i, j, k`` first, then time, then
  channels (``spatial_x``, ``spatial_y``, ``spatial_z``, ``temporal``, ``channel``).
* The world is NIfTI's RAS+ (x to the Right, y Anterior, z Superior). ITK's LPS+
  differs by the sign of the first two world axes, so converting either way
  negates the first two rows of a direction matrix and of an origin.
* Geometry is stored as spacing/origin/direction when the direction columns are
  orthonormal (no shear), else as the affine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlarray.geometry import FloatArray, compose_affine, decompose_affine
from mlarray_io._optional import require

__all__ = [
    "CHANNEL",
    "COORD_SYSTEM",
    "SPATIAL_LABELS",
    "TEMPORAL",
    "UNKNOWN_UNIT",
    "affine_from_lps",
    "canonical_orientation",
    "geometry_fields",
    "lps_flip",
    "lps_from_affine",
    "restrict",
]

COORD_SYSTEM = "RAS+"
"""The world frame of every image mlarray_io loads (``meta.spatial.coord_system``)."""

SPATIAL_LABELS = ("spatial_x", "spatial_y", "spatial_z")
TEMPORAL = "temporal"
CHANNEL = "channel"
UNKNOWN_UNIT = "unknown"
"""The ``axis_units`` entry of an axis without a known unit (channels, NIfTI code 0)."""

_SHEAR_TOLERANCE = 1e-6


def lps_flip(n: int) -> FloatArray:
    """The ``n x n`` matrix mapping LPS+ to RAS+ (and back): negate world x and y."""
    return np.diag([-1.0 if axis < 2 else 1.0 for axis in range(n)])


def restrict(affine: FloatArray, n: int) -> FloatArray:
    """The ``(n + 1)``-square affine of the first ``n`` axes of a 4x4 affine.

    A 2D NIfTI image has a 4x4 affine; its geometry in the x-y plane is rows and
    columns 0, 1 and 3 (ITK reads a 2D NIfTI image the same way).
    """
    keep = [*range(n), 3]
    return np.asarray(affine, dtype=np.float64)[np.ix_(keep, keep)]


def geometry_fields(affine: FloatArray) -> dict[str, Any]:
    """The ``meta.spatial`` geometry fields for ``affine``.

    Returns:
        ``spacing``, ``origin`` and ``direction`` when the direction columns are
        orthonormal, else ``affine`` (shear cannot be written as a direction).
    """
    spacing, origin, direction = decompose_affine(affine)
    gram = direction.T @ direction
    if np.abs(gram - np.eye(len(spacing))).max() > _SHEAR_TOLERANCE:
        return {"affine": np.asarray(affine, dtype=np.float64).tolist()}
    return {"spacing": spacing.tolist(), "origin": origin.tolist(), "direction": direction.tolist()}


def affine_from_lps(spacing: Any, origin: Any, direction: Any) -> FloatArray:
    """The RAS+ affine of ITK geometry (spacing, LPS+ origin and direction)."""
    flip = lps_flip(len(spacing))
    return compose_affine(spacing, flip @ np.asarray(origin), flip @ np.asarray(direction))


def lps_from_affine(affine: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ITK geometry (spacing, LPS+ origin and direction) of a RAS+ affine."""
    spacing, origin, direction = decompose_affine(affine)
    flip = lps_flip(len(spacing))
    return spacing, flip @ origin, flip @ direction


def canonical_orientation(affine: FloatArray) -> tuple[FloatArray, dict[str, Any]]:
    """The axis flips and swaps that bring ``affine`` closest to canonical RAS+.

    These are nibabel's ``as_closest_canonical`` semantics (``io_orientation``).

    Returns:
        The nibabel orientation array (one ``[new axis, flip]`` row per spatial
        axis) and the record kept in ``meta.source["reorientation"]``.
    """
    orientations = require("nibabel.orientations", "nibabel")
    ornt = orientations.io_orientation(affine)
    record = {
        "from": "".join(orientations.aff2axcodes(affine)),
        "to": "RAS"[: len(ornt)],
        "ornt": ornt.astype(int).tolist(),
    }
    return ornt, record
