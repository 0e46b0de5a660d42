"""A read-only, lazily decoded view of a ``.mla`` file for napari layers.

napari reads only the slices it shows; :class:`LazyVolume` turns each request
into one read of the memory-mapped file, so opening a scan decodes the chunks
of the first slice and nothing else.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlarray import MLArray

__all__ = ["LazyVolume"]


class LazyVolume:
    """Some axes of an opened MLArray, reordered, with others held at one index.

    It has what napari asks of layer data (``shape``, ``dtype``, ``ndim``,
    ``size``, indexing and ``__array__``); every index reads the file.

    Args:
        image: The MLArray, opened with ``MLArray.open`` (memory mapped).
        axes: The file's axes in the order this view shows them.
        fixed: Axes of the file not shown, each held at an index (a channel).
    """

    def __init__(
        self, image: MLArray, axes: Sequence[int], fixed: Mapping[int, int] | None = None
    ) -> None:
        shape = image.shape or ()
        self._image = image
        self._axes = tuple(axes)
        self._fixed = dict(fixed or {})
        if sorted([*self._axes, *self._fixed]) != list(range(len(shape))):
            raise ValueError(f"axes {axes} and fixed {fixed} do not cover {len(shape)} axes")
        self.shape = tuple(int(shape[axis]) for axis in self._axes)
        self.dtype = np.dtype(image.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))

    def __repr__(self) -> str:
        return f"LazyVolume({self._image.filepath}, shape={self.shape}, dtype={self.dtype})"

    def _file_key(self, key: Any) -> tuple[tuple[Any, ...], list[int]]:
        """The file index for ``key`` and the file axes the result keeps, in file order."""
        parts = key if isinstance(key, tuple) else (key,)
        if any(part is Ellipsis for part in parts):
            at = parts.index(Ellipsis)
            parts = (*parts[:at], *[slice(None)] * (self.ndim - len(parts) + 1), *parts[at + 1 :])
        if len(parts) > self.ndim:
            raise IndexError(f"too many indices: {len(parts)} for {self.ndim} axes")
        parts = (*parts, *[slice(None)] * (self.ndim - len(parts)))
        file_key: list[Any] = [slice(None)] * (len(self._axes) + len(self._fixed))
        for axis, index in self._fixed.items():
            file_key[axis] = index
        kept = []
        for axis, part in zip(self._axes, parts, strict=True):
            if isinstance(part, slice):
                file_key[axis] = part
                kept.append(axis)
            else:
                file_key[axis] = operator.index(part)
        return tuple(file_key), kept

    def __getitem__(self, key: Any) -> Any:
        file_key, kept = self._file_key(key)
        data = np.asarray(self._image[file_key])
        shown = [axis for axis in self._axes if axis in kept]
        return data.transpose([sorted(kept).index(axis) for axis in shown])

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        data = self[...]
        return data if dtype is None else data.astype(dtype)
