"""The in-between form of every conversion, and its bridge to :class:`~mlarray.MLArray`.

Each adapter turns its library's image into a :class:`Volume` (or back); only this
module builds an MLArray or reads one, so the metadata written is the same
whatever the source.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray import MLArray
from mlarray._labels import label_problem
from mlarray.meta import Meta, MetaIsSeg, MetaSource, MetaSpatial
from mlarray_io._optional import require
from mlarray_io._orientation import (
    COORD_SYSTEM,
    SPATIAL_LABELS,
    TEMPORAL,
    canonical_orientation,
    geometry_fields,
    lps_flip,
)
from mlarray_io._values import as_label_map
from mlarray_io.errors import ImageFormatError
from mlarray_meta.spatial import is_spatial_label

__all__ = ["Volume", "from_volume", "reoriented", "to_volume", "with_values", "world_affine"]

_RAS_NAMES = (None, "RAS", "RAS+", "unknown")
_LPS_NAMES = ("LPS", "LPS+")


@dataclasses.dataclass
class Volume:
    """An image in canonical form: nibabel voxel order, RAS+ world.

    Attributes:
        array: Voxel values; axes are the spatial ones (i, j, k), then time, then
            the others (channels).
        affine: The ``(n + 1)``-square RAS+ affine of the ``n`` spatial axes.
        labels: One axis label per array axis.
        units: One unit per array axis, or None when unknown.
        source: The source header, JSON-safe (becomes ``meta.source``).
        where: The file or object the image came from, for messages.
        image_format: ``"nifti"``, ``"nrrd"``, ``"mha"``, ``"dicom"`` or None.
        time: ``(step, offset)`` of the time axis, or None.
        is_seg: Whether the image is a label map (None: unknown).
    """

    array: npt.NDArray[Any]
    affine: npt.NDArray[np.float64]
    labels: list[str]
    units: list[str] | None
    source: dict[str, Any]
    where: str
    image_format: str | None = None
    time: tuple[float, float] | None = None
    is_seg: bool | None = None

    @property
    def spatial_ndim(self) -> int:
        """Number of spatial axes (they come first)."""
        return int(self.affine.shape[0]) - 1


def from_volume(volume: Volume, *, reorient: bool = False, is_seg: bool | None = None) -> MLArray:
    """Build the MLArray of ``volume``.

    Args:
        volume: The image.
        reorient: Reorient to the closest canonical RAS+ first (see :func:`reoriented`).
        is_seg: Overrides ``volume.is_seg`` when not None. A label map is held in
            the smallest unsigned integer dtype that holds its labels.

    Raises:
        MetaValidationError: If ``is_seg`` is True but the values are not labels
            (integers >= 0).
    """
    if reorient:
        volume = reoriented(volume)
    seg, array = _values_of(volume, is_seg)
    source = dict(volume.source)
    if volume.time is not None:
        source["time"] = {"step": volume.time[0], "offset": volume.time[1]}
    spatial = MetaSpatial(
        **geometry_fields(volume.affine),
        axis_labels=list(volume.labels),
        axis_units=volume.units,
        coord_system=COORD_SYSTEM,
    )
    meta = Meta(source=MetaSource(source), spatial=spatial, is_seg=MetaIsSeg(seg))
    image = MLArray(array, meta=meta, compressed=False)
    image.meta._set_facts(
        dataclasses.replace(image.meta._facts, image_meta_format=volume.image_format)
    )
    return image


def with_values(image: MLArray, values: npt.NDArray[Any]) -> MLArray:
    """``image`` holding ``values`` (same shape) instead of its own, with all its metadata."""
    result = MLArray(values, copy=image, compressed=False)
    format_ = image.meta._image_meta_format.value
    result.meta._set_facts(dataclasses.replace(result.meta._facts, image_meta_format=format_))
    return result


def _values_of(volume: Volume, is_seg: bool | None) -> tuple[bool | None, npt.NDArray[Any]]:
    """The segmentation flag and the values: labels in the smallest unsigned dtype.

    ``is_seg=True`` asked for by the caller is strict; a file that only says it
    holds labels (NIfTI intent) but holds other values loads as an image, with
    a warning.
    """
    if is_seg is not None:
        return is_seg, as_label_map(volume.array, volume.where) if is_seg else volume.array
    if not volume.is_seg:
        return volume.is_seg, volume.array
    problem = label_problem(volume.array)
    if problem is None:
        return True, as_label_map(volume.array, volume.where)
    warnings.warn(
        f"{volume.where}: the file marks the image as a label map but it holds {problem}; "
        "loaded as an image (is_seg=None)",
        UserWarning,
        stacklevel=4,
    )
    return None, volume.array


def reoriented(volume: Volume) -> Volume:
    """Flip and swap the spatial axes of ``volume`` to the closest canonical RAS+.

    The reorientation is recorded in ``source["reorientation"]``.
    """
    orientations = require("nibabel.orientations", "nibabel")
    n = volume.spatial_ndim
    ornt, record = canonical_orientation(volume.affine)
    array = orientations.apply_orientation(volume.array, ornt)
    affine = volume.affine @ orientations.inv_ornt_aff(ornt, volume.array.shape[:n])
    source = {**volume.source, "reorientation": record}
    return dataclasses.replace(volume, array=array, affine=affine, source=source)


def _axis_order(labels: list[str], where: str) -> list[int]:
    """Array axes in canonical order: spatial, then temporal, then the others."""
    spatial = [axis for axis, label in enumerate(labels) if is_spatial_label(label)]
    temporal = [axis for axis, label in enumerate(labels) if label == TEMPORAL]
    others = [axis for axis in range(len(labels)) if axis not in spatial + temporal]
    if not 1 <= len(spatial) <= len(SPATIAL_LABELS) or len(temporal) > 1:
        raise ImageFormatError(
            f"{where}: image formats hold 1 to 3 spatial axes and at most one time axis, "
            f"got axis_labels {labels}; label the other axes 'temporal' or 'channel'"
        )
    return spatial + temporal + others


def world_affine(image: MLArray, where: str) -> npt.NDArray[np.float64]:
    """``image.affine`` in the RAS+ world."""
    affine = np.asarray(image.affine, dtype=np.float64)
    frame = image.meta.spatial.coord_system
    name = None if frame is None else str(frame)
    if name in _RAS_NAMES:
        return affine
    if name in _LPS_NAMES:
        flip = np.eye(len(affine))
        flip[:-1, :-1] = lps_flip(len(affine) - 1)
        return flip @ affine
    raise ImageFormatError(
        f"{where}: coord_system {name!r} cannot be converted; expected one of "
        f"{[n for n in _RAS_NAMES + _LPS_NAMES if n is not None]}"
    )


def _time_of(source: dict[str, Any], where: str) -> tuple[float, float] | None:
    """The ``(step, offset)`` kept in ``meta.source["time"]``, or None."""
    time = source.get("time")
    if time is None:
        return None
    try:
        return float(time["step"]), float(time.get("offset", 0.0))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ImageFormatError(
            f'{where}: meta.source["time"] must be {{"step": number, "offset": number}}, '
            f"got {time!r}"
        ) from exc


def to_volume(image: MLArray, where: str) -> Volume:
    """The canonical form of ``image``, for writing it in another format.

    A label map (``meta.is_seg`` True) comes in the smallest unsigned integer
    dtype that holds its labels.

    Args:
        image: The image (with array data).
        where: The output, for messages.

    Raises:
        ImageFormatError: If the axes or the world frame cannot be written.
        MetaValidationError: If a label map holds values that are not labels.
    """
    ndim = image.ndim or 0
    spatial = image.meta.spatial
    if spatial.axis_labels is None:
        labels = list(SPATIAL_LABELS[:ndim]) if ndim <= len(SPATIAL_LABELS) else ["spatial"] * ndim
    else:
        labels = [str(label) for label in spatial.axis_labels]
    order = _axis_order(labels, where)
    units = None if spatial.axis_units is None else [spatial.axis_units[axis] for axis in order]
    source = image.meta.source.to_plain() or {}
    values = np.asarray(image.to_numpy()).transpose(order)
    is_seg = image.meta.is_seg.value
    return Volume(
        array=as_label_map(values, where) if is_seg else values,
        affine=world_affine(image, where),
        labels=[labels[axis] for axis in order],
        units=units,
        source=source,
        where=where,
        image_format=image.meta._image_meta_format.value,
        time=_time_of(source, where),
        is_seg=is_seg,
    )
