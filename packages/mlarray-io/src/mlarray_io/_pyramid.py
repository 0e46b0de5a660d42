"""Resolution pyramids: halve the spatial axes, images by block mean, label maps by mode.

Each level halves every spatial axis (rounding up): a voxel of the next level
covers a ``2 x 2 (x 2)`` block, or what is left of one at an odd edge. Images
take the mean of the voxels in the block (rounded to the nearest integer for
integer dtypes); label maps take the most frequent label, the smallest on a tie,
so that no label is invented and thin structures survive as long as they can.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["downsample", "pyramid"]

_FACTOR = 2
_SLAB = 16 * _FACTOR
"""Input planes along the first spatial axis downsampled at a time (an even number)."""


def _blocks(
    array: npt.NDArray[Any], axes: Sequence[int]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """The ``2 x 2 (x 2)`` blocks of ``array`` along ``axes``, flattened onto a last axis.

    Returns:
        The values, shaped like the downsampled array plus one axis holding the
        block's voxels (edge values repeat in a partial block), and a mask of the
        same shape saying which of them are real voxels.
    """
    pad = [(0, 0)] * array.ndim
    for axis in axes:
        pad[axis] = (0, array.shape[axis] % _FACTOR)
    values = np.pad(array, pad, mode="edge")
    valid = np.pad(np.ones(array.shape, dtype=bool), pad, mode="constant")
    split: list[int] = []
    for axis, size in enumerate(values.shape):
        split += [size // _FACTOR, _FACTOR] if axis in axes else [size]
    inner = [index for index, axis in enumerate(_split_axes(values.ndim, axes)) if axis]
    outer = [index for index in range(len(split)) if index not in inner]

    def arrange(data: npt.NDArray[Any]) -> npt.NDArray[Any]:
        shaped = data.reshape(split).transpose(outer + inner)
        return shaped.reshape(*shaped.shape[: len(outer)], -1)

    return arrange(values), arrange(valid)


def _split_axes(ndim: int, axes: Sequence[int]) -> list[bool]:
    """For each axis of the split shape: whether it is a block (inner) axis."""
    flags: list[bool] = []
    for axis in range(ndim):
        flags += [False, True] if axis in axes else [False]
    return flags


def _mean(values: npt.NDArray[Any], valid: npt.NDArray[np.bool_], dtype: np.dtype[Any]) -> Any:
    total = np.where(valid, values, 0).sum(axis=-1, dtype=np.float64)
    mean = total / valid.sum(axis=-1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(mean), info.min, info.max).astype(dtype)
    if dtype == np.bool_:
        return mean >= 0.5
    return mean.astype(dtype)


def _mode(values: npt.NDArray[Any], valid: npt.NDArray[np.bool_]) -> Any:
    order = np.argsort(values, axis=-1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=-1)
    real = np.take_along_axis(valid, order, axis=-1)
    counts = np.full(ordered.shape, -1, dtype=np.int16)
    for slot in range(ordered.shape[-1]):
        same = (ordered == ordered[..., slot : slot + 1]) & real
        counts[..., slot] = np.where(real[..., slot], same.sum(axis=-1), -1)
    best = np.argmax(counts, axis=-1)[..., np.newaxis]  # first maximum: smallest label
    return np.take_along_axis(ordered, best, axis=-1)[..., 0]


def downsample(array: npt.NDArray[Any], axes: Sequence[int], *, labels: bool) -> npt.NDArray[Any]:
    """Halve ``array`` along ``axes`` (rounding up), keeping its dtype.

    Args:
        array: The level to downsample.
        axes: The spatial axes.
        labels: Take the most frequent value of each block (a label map) instead of
            the mean.
    """
    first = axes[0]
    slabs = []
    for start in range(0, array.shape[first], _SLAB):  # bounds the temporary memory
        slab = np.take(array, np.arange(start, min(start + _SLAB, array.shape[first])), first)
        values, valid = _blocks(slab, axes)
        slabs.append(_mode(values, valid) if labels else _mean(values, valid, array.dtype))
    return np.concatenate(slabs, axis=first).astype(array.dtype, copy=False)


def pyramid(
    array: npt.NDArray[Any], axes: Sequence[int], *, levels: int, labels: bool
) -> list[npt.NDArray[Any]]:
    """``array`` and ``levels - 1`` successive halvings of it along ``axes``."""
    result = [array]
    for _ in range(levels - 1):
        result.append(downsample(result[-1], axes, labels=labels))
    return result
