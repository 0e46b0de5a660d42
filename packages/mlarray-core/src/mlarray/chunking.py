"""Chunk and block layout of the Blosc2 array behind an MLArray.

Training pipelines read many random patches, each in one thread. The layout
heuristic sizes the two Blosc2 partitions for that access pattern:

* **Block** (the unit Blosc2 decompresses): every side is a power of two, the
  uncompressed block fits in ``L1 * safety_factor``, and the block grows from the
  proportions of the patch, so anisotropic patches give anisotropic blocks. A
  block side never exceeds the patch or the image along its axis.
* **Chunk** (the unit stored and indexed in the file): a whole number of blocks
  per axis (or the full image side), grown from the block towards
  ``L3 * safety_factor`` but not past about 1.5 times the patch size on average
  over the spatial axes, and never past the image.
* A non-spatial axis (channel, time) gets chunk and block size 1.

Ties are broken towards the last axis, the contiguous one in C order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from mlarray.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    LayoutError,
    UnsupportedLayoutError,
)

__all__ = [
    "MLARRAY_DEFAULT_PATCH_SIZE",
    "Layout",
    "LayoutError",
    "BoolSequence",
    "IntSequence",
    "SizeArg",
    "comp_blosc2_params",
    "resolve_layout",
]

MLARRAY_DEFAULT_PATCH_SIZE = 192
"""Patch side used per spatial axis when ``patch_size='default'``."""

_MAX_CHUNK_TO_PATCH_RATIO = 1.5
_SUPPORTED_IMAGE_NDIMS = (2, 3, 4)
_SUPPORTED_SPATIAL_NDIMS = (2, 3)

IntSequence: TypeAlias = Sequence[int | np.integer[Any]] | npt.NDArray[np.integer[Any]]
"""Integers, one per axis: a list, a tuple or an integer ndarray."""

BoolSequence: TypeAlias = Sequence[bool | np.bool_] | npt.NDArray[np.bool_]
"""Booleans, one per axis: a list, a tuple or a boolean ndarray."""

SizeArg: TypeAlias = int | np.integer[Any] | IntSequence
"""A size argument: one int for every axis, or one int per axis."""


@dataclass(frozen=True)
class Layout:
    """Resolved storage layout of an array.

    Attributes:
        chunk_size: Chunk shape (one entry per array axis), or None to let Blosc2 choose.
        block_size: Block shape (one entry per array axis), or None to let Blosc2 choose.
        patch_size: Patch the layout was optimized for (one entry per spatial axis,
            clipped to the array shape), or None if no patch was used.
    """

    chunk_size: tuple[int, ...] | None
    block_size: tuple[int, ...] | None
    patch_size: tuple[int, ...] | None


def comp_blosc2_params(
    image_size: IntSequence,
    patch_size: IntSequence,
    spatial_axis_mask: BoolSequence | None = None,
    bytes_per_pixel: int = 4,
    l1_cache_size_per_core_in_bytes: int = 32768,
    l3_cache_size_per_core_in_bytes: int = 1441792,
    safety_factor: float = 0.8,
) -> tuple[list[int], list[int]]:
    """Compute a chunk and block size for reading random patches with Blosc2.

    See the module docstring for the rules. The patch is clipped to the image.

    Args:
        image_size: Array shape, 2D, 3D or 4D.
        patch_size: Patch size over the spatial axes (2 or 3 values).
        spatial_axis_mask: For every axis, True if it is spatial. If None, a 2D or
            3D image is all spatial and a 4D image has a non-spatial first axis.
        bytes_per_pixel: Bytes per element (4 for float32).
        l1_cache_size_per_core_in_bytes: L1 data cache per core; bounds the block.
        l3_cache_size_per_core_in_bytes: L3 cache per core; bounds the chunk.
        safety_factor: Fraction of each cache the partitions may fill, in (0, 1].

    Returns:
        The chunk size and the block size, one entry per axis of ``image_size``.

    Raises:
        ArgumentTypeError: If a size is not an integer or the mask not booleans.
        ArgumentValueError: If a size is not positive, the mask length differs
            from the image dimensionality, or the patch length from the number of
            spatial axes.
        NotImplementedError: If the image is not 2D/3D/4D, has more than one
            non-spatial axis, or has other than 2 or 3 spatial axes.
    """
    image = _positive_ints(image_size, "image_size")
    _check_image_ndim(image, "image_size")
    mask = _spatial_mask(len(image), spatial_axis_mask)
    spatial = [size for size, is_spatial in zip(image, mask, strict=True) if is_spatial]
    patch = _positive_ints(patch_size, "patch_size", length=len(spatial))
    patch = tuple(min(p, s) for p, s in zip(patch, spatial, strict=True))
    itemsize = _positive_int(bytes_per_pixel, "bytes_per_pixel")
    if isinstance(safety_factor, bool) or not isinstance(safety_factor, int | float):
        raise ArgumentTypeError(
            f"safety_factor: expected a number, got {safety_factor!r}", path="safety_factor"
        )
    if not 0.0 < safety_factor <= 1.0:
        raise ArgumentValueError(
            f"safety_factor: expected a value in (0, 1], got {safety_factor}", path="safety_factor"
        )
    l1 = _positive_int(l1_cache_size_per_core_in_bytes, "l1_cache_size_per_core_in_bytes")
    l3 = _positive_int(l3_cache_size_per_core_in_bytes, "l3_cache_size_per_core_in_bytes")
    block = _grow_block(patch, int(l1 * safety_factor) // itemsize)
    chunk = _grow_chunk(block, patch, spatial, int(l3 * safety_factor) // itemsize)
    return _scatter(chunk, mask), _scatter(block, mask)


def resolve_layout(
    shape: IntSequence,
    dtype_itemsize: int,
    *,
    patch_size: Literal["default"] | SizeArg | None = "default",
    chunk_size: SizeArg | None = None,
    block_size: SizeArg | None = None,
    spatial_axis_mask: BoolSequence | None = None,
    block_budget: int = 32768,
) -> Layout:
    """Turn the user-facing patch/chunk/block arguments into a layout.

    * ``patch_size='default'`` means 192 per spatial axis, an int is isotropic, a
      sequence gives one value per spatial axis; the patch is clipped to the shape
      and :func:`comp_blosc2_params` chooses chunk and block sizes. The default
      patch gives way to explicit chunk/block sizes; an explicit patch size
      together with them is an error.
    * ``patch_size=None`` uses ``chunk_size``/``block_size`` as given (an int for
      every axis or one value per axis); block alone is an error, and with neither
      Blosc2 chooses.
    * An array with a zero-length axis gets no automatic layout.

    Args:
        shape: Array shape.
        dtype_itemsize: Bytes per element.
        patch_size: ``'default'``, an int, one int per spatial axis, or None.
        chunk_size: Explicit chunk size (int or one per axis), or None.
        block_size: Explicit block size (int or one per axis), or None.
        spatial_axis_mask: For every axis, True if spatial; None as in
            :func:`comp_blosc2_params`.
        block_budget: Bytes an uncompressed block may take (before the safety
            factor); the L1 data cache by default, larger for compact storage.

    Returns:
        The resolved layout.

    Raises:
        LayoutError: If the arguments contradict each other (patch with chunk or
            block, block without chunk, block larger than chunk).
        ArgumentTypeError: If a size argument has the wrong type.
        ArgumentValueError: If a size argument has the wrong length or a
            non-positive value.
        NotImplementedError: If a patch is used on an array whose dimensionality
            the optimizer does not support (see :func:`comp_blosc2_params`).
    """
    dims = _positive_ints(shape, "shape", minimum=0)
    if patch_size is None or (_is_default(patch_size) and _given(chunk_size, block_size)):
        return _explicit_layout(dims, chunk_size, block_size)
    if _given(chunk_size, block_size):
        raise LayoutError(
            f"patch_size={patch_size!r} cannot be combined with chunk_size={chunk_size!r} "
            f"or block_size={block_size!r}; pass patch_size=None to set chunks and blocks"
        )
    if 0 in dims:
        return Layout(None, None, None)
    _check_image_ndim(dims, "shape")
    mask = _spatial_mask(len(dims), spatial_axis_mask)
    spatial = [size for size, is_spatial in zip(dims, mask, strict=True) if is_spatial]
    patch = _patch_sizes(patch_size, len(spatial))
    patch = tuple(min(p, s) for p, s in zip(patch, spatial, strict=True))
    chunk, block = comp_blosc2_params(
        dims,
        patch,
        mask,
        bytes_per_pixel=dtype_itemsize,
        l1_cache_size_per_core_in_bytes=block_budget,
    )
    return Layout(tuple(chunk), tuple(block), patch)


def _is_default(patch_size: object) -> bool:
    return isinstance(patch_size, str) and patch_size == "default"


def _given(*values: object) -> bool:
    return any(value is not None for value in values)


def _explicit_layout(
    shape: tuple[int, ...], chunk_size: SizeArg | None, block_size: SizeArg | None
) -> Layout:
    if chunk_size is None:
        if block_size is not None:
            raise LayoutError(
                f"block_size={block_size!r} needs a chunk_size too; blocks partition chunks"
            )
        return Layout(None, None, None)
    chunk = _per_axis(chunk_size, len(shape), "chunk_size")
    if block_size is None:
        return Layout(chunk, None, None)
    block = _per_axis(block_size, len(shape), "block_size")
    if any(b > c for b, c in zip(block, chunk, strict=True)):
        raise LayoutError(
            f"block_size {block} exceeds chunk_size {chunk} along some axis; "
            f"each block side must be at most the chunk side"
        )
    return Layout(chunk, block, None)


def _patch_sizes(patch_size: object, n_spatial: int) -> tuple[int, ...]:
    if _is_default(patch_size):
        return (MLARRAY_DEFAULT_PATCH_SIZE,) * n_spatial
    if isinstance(patch_size, str):
        raise ArgumentValueError(
            f"patch_size: expected 'default', an int, {n_spatial} ints or None, got {patch_size!r}",
            path="patch_size",
        )
    return _per_axis(patch_size, n_spatial, "patch_size", unit="spatial axis")


def _per_axis(value: object, n: int, field: str, *, unit: str = "axis") -> tuple[int, ...]:
    if isinstance(value, Sequence | np.ndarray):
        return _positive_ints(value, field, length=n, unit=unit)
    return (_positive_int(value, field),) * n


def _check_image_ndim(shape: tuple[int, ...], field: str) -> None:
    if len(shape) not in _SUPPORTED_IMAGE_NDIMS:
        raise UnsupportedLayoutError(
            f"{field}: chunk/block optimization from a patch size supports 2D, 3D and 4D "
            f"arrays, got {len(shape)}D {shape}; pass patch_size=None and explicit "
            f"chunk_size/block_size instead"
        )


def _spatial_mask(ndim: int, mask: object) -> tuple[bool, ...]:
    """Validate the mask (or make the default one) and check it is supported."""
    if mask is None:
        flags: tuple[bool, ...] = (ndim != 4,) + (True,) * (ndim - 1)
    elif isinstance(mask, str) or not isinstance(mask, Sequence | np.ndarray):
        raise ArgumentTypeError(
            f"spatial_axis_mask: expected a sequence of bools, got {mask!r}",
            path="spatial_axis_mask",
        )
    elif not all(isinstance(flag, bool | np.bool_) for flag in mask):
        raise ArgumentTypeError(
            f"spatial_axis_mask: expected bools, got {list(mask)!r}", path="spatial_axis_mask"
        )
    elif len(mask) != ndim:
        raise ArgumentValueError(
            f"spatial_axis_mask: expected {ndim} values (one per axis), got {len(mask)}",
            path="spatial_axis_mask",
        )
    else:
        flags = tuple(bool(flag) for flag in mask)
    if flags.count(False) > 1 or flags.count(True) not in _SUPPORTED_SPATIAL_NDIMS:
        raise UnsupportedLayoutError(
            f"chunk/block optimization supports 2 or 3 spatial axes and at most one "
            f"non-spatial axis, got spatial_axis_mask={list(flags)} for {ndim} axes"
        )
    return flags


def _positive_int(value: object, field: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ArgumentTypeError(f"{field}: expected an integer, got {value!r}", path=field)
    number = int(value)
    if number < minimum:
        raise ArgumentValueError(
            f"{field}: expected an integer >= {minimum}, got {number}", path=field
        )
    return number


def _positive_ints(
    values: object,
    field: str,
    *,
    length: int | None = None,
    unit: str = "axis",
    minimum: int = 1,
) -> tuple[int, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise ArgumentTypeError(
            f"{field}: expected a sequence of integers, got {values!r}", path=field
        )
    items = list(values)
    if length is not None and len(items) != length:
        raise ArgumentValueError(
            f"{field}: expected {length} values (one per {unit}), got {len(items)}", path=field
        )
    return tuple(_positive_int(item, field, minimum=minimum) for item in items)


def _grow_block(patch: tuple[int, ...], max_elements: int) -> list[int]:
    """Double the axis least covered by the block relative to the patch, while it fits."""
    block = [1] * len(patch)
    while True:
        volume = math.prod(block)
        growable = [
            axis
            for axis in range(len(block))
            if 2 * block[axis] <= patch[axis] and 2 * volume <= max_elements
        ]
        if not growable:
            return block
        axis = max(growable, key=lambda a: (patch[a] / block[a], a))
        block[axis] *= 2


def _grow_chunk(
    block: list[int], patch: tuple[int, ...], image: list[int], max_elements: int
) -> list[int]:
    """Add one block along the axis whose chunk is smallest relative to the patch."""
    chunk = list(block)
    max_volume = _MAX_CHUNK_TO_PATCH_RATIO ** len(patch) * math.prod(patch)
    while True:
        volume = math.prod(chunk)
        growable = []
        for axis, side in enumerate(chunk):
            grown = min(side + block[axis], image[axis])
            grown_volume = volume // side * grown
            if side < image[axis] and grown_volume <= min(max_elements, max_volume):
                growable.append(axis)
        if not growable:
            return chunk
        axis = min(growable, key=lambda a: (chunk[a] / patch[a], -a))
        chunk[axis] = min(chunk[axis] + block[axis], image[axis])


def scatter(spatial_sizes: Sequence[int], mask: Sequence[bool]) -> tuple[int, ...]:
    """Spread per-spatial-axis sizes over all axes; non-spatial axes get 1."""
    return tuple(_scatter(list(spatial_sizes), tuple(mask)))


def spatial_mask(ndim: int, mask: BoolSequence | None) -> tuple[bool, ...]:
    """The spatial axes of an ``ndim``-D array, as :func:`resolve_layout` takes them.

    Raises:
        NotImplementedError: If the optimizer does not support the mask.
    """
    return _spatial_mask(ndim, mask)


def _scatter(spatial_sizes: list[int], mask: tuple[bool, ...]) -> list[int]:
    values = iter(spatial_sizes)
    return [next(values) if is_spatial else 1 for is_spatial in mask]
