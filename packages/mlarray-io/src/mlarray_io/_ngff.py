"""NGFF axes and coordinate transformations of a :class:`~mlarray_io._volume.Volume`.

A volume's axes are ``x, y(, z)`` (nibabel voxel order), then time, then at most
one other axis. NGFF 0.5 orders them time, channel, then space, conventionally
``z, y, x``; :class:`AxisPlan` holds the permutation between the two and the
axes' NGFF names, types and units.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray_io._orientation import CHANNEL, SPATIAL_LABELS, TEMPORAL, UNKNOWN_UNIT
from mlarray_io.errors import ImageFormatError

__all__ = [
    "AxisPlan",
    "level_transforms",
    "ngff_unit",
    "plan_axes",
    "read_axes",
    "scale_translation",
    "volume_unit",
]

_NGFF_UNITS = {
    "m": "meter",
    "mm": "millimeter",
    "um": "micrometer",
    "s": "second",
    "ms": "millisecond",
    "us": "microsecond",
}
_SPACE_NAMES = ("x", "y", "z")
_DEFAULT_TYPES = {"x": "space", "y": "space", "z": "space", "t": "time", "c": "channel"}


def ngff_unit(unit: str | None) -> str | None:
    """The NGFF (UDUNITS-2) name of an ``axis_units`` entry, or None if it has none."""
    return None if unit is None else _NGFF_UNITS.get(unit)


def volume_unit(unit: Any) -> str:
    """The ``axis_units`` entry of an NGFF unit name (``"unknown"`` for the others)."""
    found = [short for short, name in _NGFF_UNITS.items() if name == unit]
    return found[0] if found else UNKNOWN_UNIT


@dataclasses.dataclass(frozen=True)
class AxisPlan:
    """How a volume's axes become NGFF axes.

    Attributes:
        order: For each NGFF axis, the volume axis it is.
        axes: The NGFF ``axes`` entries (name, type, unit), in NGFF order.
        spatial: The positions of the space axes in NGFF order.
    """

    order: tuple[int, ...]
    axes: tuple[dict[str, str], ...]
    spatial: tuple[int, ...]


def plan_axes(
    labels: list[str], units: list[str] | None, spatial_ndim: int, where: str
) -> AxisPlan:
    """The NGFF axes of a volume with these axis ``labels`` and ``units``.

    Raises:
        ImageFormatError: If NGFF cannot hold the axes: it needs 2 or 3 space axes
            and takes at most one time and one channel (or other) axis.
    """
    time = [axis for axis, label in enumerate(labels) if label == TEMPORAL]
    others = [axis for axis in range(spatial_ndim, len(labels)) if axis not in time]
    if spatial_ndim not in (2, 3) or len(others) > 1:
        raise ImageFormatError(
            f"{where}: OME-Zarr holds 2 or 3 spatial axes, at most one time axis and at "
            f"most one channel axis; got axis_labels {labels}"
        )
    order = (*time, *others, *reversed(range(spatial_ndim)))
    axes = []
    for axis in order:
        label = labels[axis]
        if axis < spatial_ndim:
            entry = {"name": _SPACE_NAMES[axis], "type": "space"}
        elif label == TEMPORAL:
            entry = {"name": "t", "type": "time"}
        else:
            entry = {"name": "c" if label == CHANNEL else label, "type": "channel"}
        unit = ngff_unit(units[axis] if units else None)
        if unit is not None and entry["type"] != "channel":
            entry["unit"] = unit
        axes.append(entry)
    spatial = tuple(position for position, axis in enumerate(order) if axis < spatial_ndim)
    return AxisPlan(order=order, axes=tuple(axes), spatial=spatial)


def level_transforms(
    scale: npt.NDArray[np.float64], translation: npt.NDArray[np.float64], plan: AxisPlan, level: int
) -> list[dict[str, Any]]:
    """The NGFF ``coordinateTransformations`` of pyramid ``level``.

    Args:
        scale: Level 0's scale per NGFF axis.
        translation: Level 0's translation per NGFF axis.
        plan: The axes; only space axes are downsampled.
        level: The level; its voxels span ``2 ** level`` level-0 voxels per
            space axis, centred on the middle of that span.
    """
    factor = 2.0**level
    level_scale = scale.copy()
    level_translation = translation.copy()
    for position in plan.spatial:
        level_scale[position] = scale[position] * factor
        level_translation[position] = translation[position] + scale[position] * (factor - 1) / 2
    return [
        {"type": "scale", "scale": level_scale.tolist()},
        {"type": "translation", "translation": level_translation.tolist()},
    ]


def read_axes(axes: Any, where: str) -> tuple[list[int], list[str], list[str]]:
    """The volume order, axis labels and units of an NGFF ``axes`` list.

    Space axes come first (reversed, so that NGFF's ``z, y, x`` becomes ``x, y, z``),
    then the time axis, then the others. NGFF 0.3 axes (plain names) are accepted.

    Returns:
        For each volume axis the NGFF axis it is, its label and its unit.

    Raises:
        ImageFormatError: If the axes are not a list of names or objects, or do not
            hold 2 or 3 space axes.
    """
    entries = [{"name": entry} if isinstance(entry, str) else entry for entry in axes or []]
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        raise ImageFormatError(f"{where}: multiscales axes: expected a list of axes, got {axes!r}")
    kinds = [entry.get("type") or _DEFAULT_TYPES.get(str(entry.get("name"))) for entry in entries]
    space = [axis for axis, kind in enumerate(kinds) if kind == "space"][::-1]
    time = [axis for axis, kind in enumerate(kinds) if kind == "time"]
    others = [axis for axis in range(len(kinds)) if axis not in space + time]
    if len(space) not in (2, 3):
        raise ImageFormatError(
            f"{where}: expected 2 or 3 space axes, got axes {[e.get('name') for e in entries]}"
        )
    labels = list(SPATIAL_LABELS[: len(space)])
    labels += [TEMPORAL] * len(time)
    labels += [CHANNEL if kinds[axis] == "channel" else "non_spatial" for axis in others]
    order = space + time + others
    units = [volume_unit(entries[axis].get("unit")) for axis in order]
    return order, labels, units


def scale_translation(
    transforms: Any, ndim: int, where: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The combined scale and translation of NGFF ``coordinateTransformations``.

    Raises:
        ImageFormatError: If a transformation is not an inline ``identity``,
            ``scale`` or ``translation`` of ``ndim`` values.
    """
    scale, translation = np.ones(ndim), np.zeros(ndim)
    for transform in transforms or []:
        kind = transform.get("type") if isinstance(transform, dict) else None
        values = transform.get(kind) if kind in ("scale", "translation") else None
        if kind == "identity":
            continue
        if values is None or len(values) != ndim:
            raise ImageFormatError(
                f"{where}: unsupported coordinate transformation {transform!r}; expected "
                f"an inline scale or translation of {ndim} values"
            )
        vector = np.asarray(values, dtype=np.float64)
        if kind == "scale":
            scale, translation = scale * vector, translation * vector
        else:
            translation = translation + vector
    return scale, translation
