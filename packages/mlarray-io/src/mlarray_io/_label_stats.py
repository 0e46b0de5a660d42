"""Label statistics computed while converting: voxels and bounding box of every label.

The voxels of each label are counted, and the bounding box of each label above 0
(background) is found, as ``[start, stop)`` voxel indices per axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray_io._stats import c_ordered

__all__ = ["LabelStatistics", "label_statistics"]

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class LabelStatistics:
    """What a label map holds.

    Attributes:
        voxels: The voxel count of every label present, background (0) included.
        boxes: The bounding box of every label above 0, as ``[start, stop)`` voxel
            indices per axis (``image[tuple(slice(*pair) for pair in box)]``).
    """

    voxels: dict[int, int]
    boxes: dict[int, list[list[int]]]


def label_statistics(labels: Array) -> LabelStatistics:
    """Count the voxels and find the bounding box of every label.

    Each index along the first axis is counted label by label (one ``bincount``
    per plane); each label's box along the other axes is then found in the part
    of the map between its first and last plane only.

    Args:
        labels: A label map (integers >= 0, as :func:`~mlarray_io._values.as_label_map`
            gives).
    """
    if labels.size == 0:
        return LabelStatistics({}, {})
    if c_ordered(labels) is not labels:  # read planes along the last axis instead
        found = label_statistics(labels.T)
        return LabelStatistics(found.voxels, {k: box[::-1] for k, box in found.boxes.items()})
    present, codes = _coded(labels)
    flat = codes.reshape(codes.shape[0], -1)
    planes = np.stack([np.bincount(plane, minlength=len(present)) for plane in flat])
    voxels = planes.sum(axis=0)
    boxes = {}
    for code, label in enumerate(present.tolist()):
        if label > 0 and voxels[code]:
            rows = np.flatnonzero(planes[:, code])
            part = codes[rows[0] : rows[-1] + 1] == code
            spans = [
                np.flatnonzero(part.any(axis=tuple(d for d in range(part.ndim) if d != axis)))
                for axis in range(1, part.ndim)
            ]
            boxes[label] = [[int(rows[0]), int(rows[-1]) + 1]] + [
                [int(span[0]), int(span[-1]) + 1] for span in spans
            ]
    return LabelStatistics(
        voxels={
            label: int(count)
            for label, count in zip(present.tolist(), voxels, strict=True)
            if count
        },
        boxes=boxes,
    )


def _coded(labels: Array) -> tuple[Array, Array]:
    """The labels that can occur and the map in codes ``0..n-1`` (the labels themselves
    up to 65535, so no copy; else the sorted distinct labels)."""
    highest = int(labels.max())
    if highest < 1 << 16:
        return np.arange(highest + 1), labels
    present, codes = np.unique(labels, return_inverse=True)
    return present, codes.reshape(labels.shape)
