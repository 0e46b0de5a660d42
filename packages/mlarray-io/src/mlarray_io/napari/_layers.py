"""napari's view of an MLArray: which axes it shows, in what order, and where.

napari shows the last two axes of a layer as the screen's rows and columns, so
layers get the axes as NGFF orders them: time and other axes first, then the
space axes reversed (``z, y, x``), giving axial slices. The world is the RAS+
world of ``docs/geometry.md`` with its axes in the same reversed order, so each
layer's ``affine`` places every voxel exactly, oblique scans included.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mlarray_io._orientation import CHANNEL, TEMPORAL
from mlarray_io._volume import world_affine
from mlarray_meta.spatial import is_spatial_label

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = ["LayerAxes", "layer_axes", "napari_affine"]


@dataclasses.dataclass(frozen=True)
class LayerAxes:
    """The axes of a file as napari layers show them.

    Attributes:
        shown: The file's axes in layer order (others first, space axes reversed).
        labels: The axis label of each shown axis.
        channel: The file's channel axis (one layer per channel), or None.
        spatial: How many of the last shown axes are space axes.
    """

    shown: tuple[int, ...]
    labels: tuple[str, ...]
    channel: int | None
    spatial: int


def layer_axes(labels: list[str]) -> LayerAxes:
    """How to show an array whose axes carry ``labels`` (in file order)."""
    space = [axis for axis, label in enumerate(labels) if is_spatial_label(label)]
    channels = [axis for axis, label in enumerate(labels) if label == CHANNEL]
    channel = channels[0] if channels else None
    time = [axis for axis, label in enumerate(labels) if label == TEMPORAL]
    others = [axis for axis in range(len(labels)) if axis not in [*space, *time, channel]]
    shown = (*time, *others, *reversed(space))
    return LayerAxes(
        shown=shown,
        labels=tuple(labels[axis] for axis in shown),
        channel=channel,
        spatial=len(space),
    )


def reverse_spatial(affine: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """An affine of the space axes with index and world axes both reversed (and back)."""
    n = len(affine) - 1
    order = [*reversed(range(n)), n]
    return np.asarray(affine, dtype=np.float64)[np.ix_(order, order)]


def napari_affine(image: MLArray, axes: LayerAxes) -> npt.NDArray[np.float64]:
    """The layer affine: identity on the leading axes, the reversed RAS+ affine on space."""
    size = len(axes.shown)
    affine = np.eye(size + 1)
    if axes.spatial == 0 or image.affine is None:
        return affine
    spatial = reverse_spatial(world_affine(image, str(image.filepath)))
    lead = size - axes.spatial
    affine[lead:size, lead:size] = spatial[:-1, :-1]
    affine[lead:size, size] = spatial[:-1, -1]
    return affine


def labels_of(image: MLArray) -> list[str]:
    """The axis labels of ``image`` (all spatial when it has none)."""
    ndim = image.ndim or 0
    labels = image.meta.spatial.axis_labels
    return ["spatial"] * ndim if labels is None else [str(label) for label in labels]


def layer_metadata(image: MLArray) -> dict[str, Any]:
    """What a layer keeps of the file (shown in napari's layer metadata)."""
    return {"mlarray": image.meta.to_plain()}
