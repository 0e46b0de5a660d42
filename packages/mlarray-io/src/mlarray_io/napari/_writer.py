"""The napari writer: image and labels layers to ``.mla`` files with their placement."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from mlarray import MLArray
from mlarray.meta import Meta, MetaIsSeg, MetaSpatial
from mlarray_io._orientation import COORD_SYSTEM, SPATIAL_LABELS, TEMPORAL, geometry_fields
from mlarray_io.errors import ImageFormatError
from mlarray_io.napari._layers import reverse_spatial

__all__ = ["write_image", "write_labels"]


def _layer_affine(meta: dict[str, Any], ndim: int) -> npt.NDArray[np.float64]:
    """napari's data-to-world transform of a layer: its affine after scale and translate."""
    affine = np.asarray(meta.get("affine", np.eye(ndim + 1)), dtype=np.float64)
    placed = np.eye(ndim + 1)
    placed[:ndim, :ndim] = np.diag(np.asarray(meta.get("scale", [1.0] * ndim), dtype=float))
    placed[:ndim, ndim] = np.asarray(meta.get("translate", [0.0] * ndim), dtype=float)
    return affine @ placed


def _write(path: str, data: Any, meta: dict[str, Any], *, is_seg: bool) -> list[str]:
    target = os.fspath(path)
    if not target.lower().endswith(".mla"):
        return []
    array = np.asarray(data)
    ndim = array.ndim
    spatial = min(ndim, len(SPATIAL_LABELS))
    lead = ndim - spatial
    if spatial < 2 or lead > 1:
        raise ImageFormatError(
            f"{target}: napari layers of 2 to 3 space axes and at most one time axis "
            f"can be saved, got {ndim} axes"
        )
    affine = _layer_affine(meta, ndim)[lead:, lead:]
    # the layer shows (t,) z, y, x; the file holds x, y, z (, t)
    array = np.moveaxis(array, list(range(lead)), list(range(ndim - lead, ndim)))
    array = array.transpose([*reversed(range(spatial)), *range(spatial, ndim)])
    labels = [*SPATIAL_LABELS[:spatial], *[TEMPORAL] * lead]
    spatial_meta = MetaSpatial(
        **geometry_fields(reverse_spatial(affine)), axis_labels=labels, coord_system=COORD_SYSTEM
    )
    MLArray(array, meta=Meta(spatial=spatial_meta, is_seg=MetaIsSeg(is_seg))).save(target)
    return [target]


def write_image(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """napari's single-layer writer hook for an image layer (``.mla`` only)."""
    return _write(path, data, meta, is_seg=False)


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """napari's single-layer writer hook for a labels layer (saved with ``is_seg``)."""
    return _write(path, data, meta, is_seg=True)
