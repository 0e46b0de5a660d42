"""The napari reader of ``.mla`` files: lazy image or labels layers, boxes as shapes."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlarray import MLArray
from mlarray_io.napari._layers import (
    LayerAxes,
    labels_of,
    layer_axes,
    layer_metadata,
    napari_affine,
)
from mlarray_io.napari._lazy import LazyVolume

__all__ = ["get_reader", "read_layers"]

LayerData = tuple[Any, dict[str, Any], str]
PathOrPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def get_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list[LayerData]] | None:
    """napari's ``get_reader`` hook: the reader for ``.mla`` files, None for others.

    Declining (returning None) anything else lets other plugins, such as
    napari-mlarray, read what they claim.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths or not all(str(p).lower().endswith(".mla") for p in paths):
        return None
    return read_layers


def read_layers(path: PathOrPaths) -> list[LayerData]:
    """Layer data for ``.mla`` files, reading no voxel beyond what napari displays.

    Each file with an array gives one image layer (a labels layer when
    ``meta.is_seg`` is True) per channel; bounding boxes give a shapes layer.

    Raises:
        MLArrayFileError: If a file is missing or unreadable (napari shows the message).
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    layers: list[LayerData] = []
    for one in paths:
        layers += _file_layers(MLArray.open(one, mmap_mode="r"), Path(one))
    return layers


def _file_layers(image: MLArray, path: Path) -> list[LayerData]:
    name = path.name[: -len(".mla")]
    axes = layer_axes(labels_of(image) if image.shape is not None else _box_labels(image))
    affine = napari_affine(image, axes)
    layers: list[LayerData] = []
    if image.shape is not None:
        layers += _array_layers(image, axes, affine, name)
    if image.meta.bbox.bboxes:
        layers.append(_box_layer(image, axes, affine, name))
    return layers


def _box_labels(image: MLArray) -> list[str]:
    boxes = image.meta.bbox.bboxes or [[]]
    return ["spatial"] * len(boxes[0])


def _array_layers(
    image: MLArray, axes: LayerAxes, affine: np.ndarray[Any, Any], name: str
) -> list[LayerData]:
    kind = "labels" if image.meta.is_seg.value else "image"
    count = 1 if axes.channel is None else (image.shape or ())[axes.channel]
    layers: list[LayerData] = []
    for index in range(count):
        fixed = None if axes.channel is None else {axes.channel: index}
        data = LazyVolume(image, axes.shown, fixed)
        options: dict[str, Any] = {
            "name": name if axes.channel is None else f"{name} [{index}]",
            "affine": affine,
            "metadata": layer_metadata(image),
            "axis_labels": axes.labels,
        }
        if kind == "image":
            options["contrast_limits"] = _contrast_limits(image, data)
        layers.append((data, options, kind))
    return layers


def _contrast_limits(image: MLArray, data: LazyVolume) -> list[float]:
    """From ``meta.stats`` when recorded, else from the slice napari shows first."""
    stats = image.meta.stats
    low = stats.percentile_min if stats.percentile_min is not None else stats.min
    high = stats.percentile_max if stats.percentile_max is not None else stats.max
    if low is None or high is None:
        first = data[tuple((size - 1) // 2 for size in data.shape[:-2])]  # napari's start
        low, high = float(np.min(first)), float(np.max(first))
    return [float(low), float(high) if high > low else float(low) + 1.0]


def _box_layer(
    image: MLArray, axes: LayerAxes, affine: np.ndarray[Any, Any], name: str
) -> LayerData:
    """Each box as rectangles in the shown plane, one on every slice it spans.

    Boxes are ``[min, max]`` voxel indices per space axis, in file order.
    """
    boxes, bbox = image.meta.bbox.bboxes or [], image.meta.bbox
    lead = len(axes.shown) - axes.spatial
    rectangles, features = [], {"label": [], "score": []}  # type: ignore[var-annotated]
    for number, box in enumerate(boxes):
        ranges = [box[axis] for axis in reversed(range(axes.spatial))]  # shown order
        depth = ranges[:-2]
        planes = [range(math.ceil(lo), math.floor(hi) + 1) for lo, hi in depth]
        for where in np.ndindex(*[len(plane) for plane in planes]):
            fixed = [plane[i] for plane, i in zip(planes, where, strict=True)]
            (y0, y1), (x0, x1) = ranges[-2:]
            corners = [[y0, x0], [y0, x1], [y1, x1], [y1, x0]]
            rectangles.append([[0] * lead + fixed + corner for corner in corners])
            features["label"].append(bbox.labels[number] if bbox.labels else number)
            features["score"].append(bbox.scores[number] if bbox.scores else math.nan)
    options = {
        "name": f"{name} boxes",
        "shape_type": "rectangle",
        "affine": affine,
        "features": features,
        "edge_color": "yellow",
        "face_color": "transparent",
        "ndim": len(axes.shown),
    }
    return (np.asarray(rectangles, dtype=np.float64), options, "shapes")
