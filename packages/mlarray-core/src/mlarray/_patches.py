"""Reading many same-sized patches in one call, for dataloaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlarray.errors import ArgumentTypeError, ArgumentValueError

__all__ = ["patch_boxes", "read_patches"]


def _per_axis(
    values: Sequence[int], shape: tuple[int, ...], spatial: list[bool], fill: Sequence[int]
) -> list[int] | None:
    """``values`` for every axis: as given, or given for the spatial axes and ``fill`` elsewhere.

    Returns None when ``values`` fits neither form.
    """
    given = [int(value) for value in values]
    if len(given) == len(shape):
        return given
    if len(given) == sum(spatial):
        spatial_values = iter(given)
        return [next(spatial_values) if s else f for s, f in zip(spatial, fill, strict=True)]
    return None


def patch_boxes(
    starts: Sequence[Sequence[int]],
    size: int | Sequence[int],
    shape: tuple[int, ...],
    spatial: list[bool],
) -> tuple[tuple[int, ...], list[tuple[list[int], list[int]]]]:
    """Check patch positions and return the patch shape and each ``(start, stop)``.

    Sizes and starts give one value per array axis, or one per spatial axis (the
    other axes are then read whole, from 0). An int size applies to every spatial
    axis. Every patch must lie inside the array.

    Raises:
        ArgumentValueError: A size or start has the wrong length, or a patch leaves
            the array.
    """
    counts = f"{len(shape)} (one per axis) or {sum(spatial)} (one per spatial axis)"
    sizes = [int(size)] * sum(spatial) if isinstance(size, (int, np.integer)) else size
    patch = _per_axis(sizes, shape, spatial, fill=shape)
    if patch is None:
        raise ArgumentValueError(
            f"patch size: expected {counts} values, got {len(sizes)}", path="size"
        )
    for axis, (side, limit) in enumerate(zip(patch, shape, strict=True)):
        if not 0 < side <= limit:
            raise ArgumentValueError(
                f"patch size: axis {axis} must be in 1..{limit} (the array's size), got {side}",
                path="size",
            )
    boxes = []
    for number, start in enumerate(starts):
        begin = _per_axis(start, shape, spatial, fill=[0] * len(shape))
        if begin is None:
            raise ArgumentValueError(
                f"patch {number}: expected a start with {counts} indices, got {len(start)}",
                path="starts",
            )
        stop = [first + side for first, side in zip(begin, patch, strict=True)]
        for axis, (first, last, limit) in enumerate(zip(begin, stop, shape, strict=True)):
            if first < 0 or last > limit:
                raise ArgumentValueError(
                    f"patch {number}: axis {axis} spans {first}:{last}, outside 0:{limit}",
                    path="starts",
                )
        boxes.append((begin, stop))
    return tuple(patch), boxes


def read_patches(
    store: Any,
    boxes: list[tuple[list[int], list[int]]],
    patch: tuple[int, ...],
    out: np.ndarray[Any, Any] | None,
) -> np.ndarray[Any, Any]:
    """Read every box of ``store`` into ``out`` (allocated when None) and return it.

    Blosc2 arrays decode straight into the output rows; nothing else is allocated.

    Raises:
        ArgumentTypeError: ``out`` has the wrong shape or dtype or is not C-contiguous.
    """
    expected = (len(boxes), *patch)
    dtype = np.dtype(store.dtype)
    if out is None:
        out = np.empty(expected, dtype=dtype)
    elif out.shape != expected or out.dtype != dtype or not out.flags.c_contiguous:
        raise ArgumentTypeError(
            f"out: expected a C-contiguous {dtype} array of shape {list(expected)}, got "
            f"{'a non-contiguous ' if not out.flags.c_contiguous else ''}{out.dtype} array "
            f"of shape {list(out.shape)}",
            path="out",
        )
    if isinstance(store, np.ndarray):
        for row, (begin, stop) in zip(out, boxes, strict=True):
            row[...] = store[tuple(slice(a, b) for a, b in zip(begin, stop, strict=True))]
        return out
    for row, box in zip(out, boxes, strict=True):
        store.get_slice_numpy(row, box)
    return out
