"""Computing the foreground index of a segmentation: per label, its box and voxel samples.

The mask is read in slabs along its first axis, twice: once to count each
label's voxels, once to collect the seeded sample and the bounding boxes. Memory
stays bounded by one slab whatever the volume's size.
"""

from __future__ import annotations

import math
from typing import Any, Final, Protocol

import numpy as np

from mlarray.errors import MetaTypeError
from mlarray.training._core import ForegroundIndex, LabelIndex

__all__ = ["DEFAULT_MAX_SAMPLES", "DEFAULT_MIN_FRACTION", "SamplingRule", "compute_index"]

DEFAULT_MAX_SAMPLES: Final = 10_000
DEFAULT_MIN_FRACTION: Final = 0.01
_SLAB_BYTES: Final = 32 * 2**20


class _Sliceable(Protocol):
    @property
    def shape(self) -> Any: ...
    @property
    def dtype(self) -> Any: ...

    def __getitem__(self, key: Any) -> Any: ...


class SamplingRule:
    """How many voxels of a label the index keeps (nnU-Net's rule by default).

    Args:
        max_samples: Keep up to this many voxels per label...
        min_fraction: ...but at least this fraction of its voxels.
    """

    def __init__(
        self, *, max_samples: int = DEFAULT_MAX_SAMPLES, min_fraction: float = DEFAULT_MIN_FRACTION
    ) -> None:
        if max_samples < 1 or not 0 <= min_fraction <= 1:
            raise MetaTypeError(
                f"sampling rule: expected max_samples >= 1 and 0 <= min_fraction <= 1, got "
                f"{max_samples} and {min_fraction}"
            )
        self.max_samples = max_samples
        self.min_fraction = min_fraction

    def count(self, voxels: int) -> int:
        """Number of samples kept of a label with ``voxels`` voxels."""
        return min(voxels, max(self.max_samples, math.ceil(voxels * self.min_fraction)))


def _integer_dtype(dtype: Any, source: str) -> np.dtype[Any]:
    kind: np.dtype[Any] = np.dtype(dtype)
    if kind.kind not in "biu":
        raise MetaTypeError(
            f"{source}: a foreground index needs an integer or boolean label mask, got {kind}"
        )
    return kind


def _slabs(shape: tuple[int, ...], itemsize: int) -> list[slice]:
    row = max(1, int(np.prod(shape[1:], dtype=np.int64)) * itemsize)
    step = max(1, _SLAB_BYTES // row)
    return [slice(start, min(start + step, shape[0])) for start in range(0, shape[0], step)]


def _read(source: _Sliceable, slab: slice) -> np.ndarray[Any, Any]:
    data = np.asarray(source[slab])
    return data.view(np.uint8) if data.dtype == np.bool_ else data


def compute_index(
    mask: _Sliceable,
    *,
    seed: int = 0,
    rule: SamplingRule | None = None,
    fingerprint: bytes = bytes(16),
    source: str = "mask",
) -> ForegroundIndex:
    """Compute the foreground index of ``mask`` (every non-zero value is a label).

    Args:
        mask: An integer or boolean array: NumPy, Blosc2 or an :class:`~mlarray.MLArray`.
        seed: Seeds the choice of voxel samples.
        rule: How many voxels to keep per label (default: up to 10,000 and at least 1%).
        fingerprint: Recorded as the index's fingerprint.
        source: Names the mask in errors.

    Returns:
        The index.

    Raises:
        MetaTypeError: The mask is not integer or boolean, or has no axes.
    """
    dtype = _integer_dtype(mask.dtype, source)
    shape = tuple(int(n) for n in mask.shape)
    if not shape:
        raise MetaTypeError(f"{source}: a foreground index needs an array with axes, got 0-d")
    rule = rule or SamplingRule()
    slabs = _slabs(shape, dtype.itemsize)
    counts: dict[int, int] = {}
    for slab in slabs:
        data = _read(mask, slab)
        values, number = np.unique(data[data != 0], return_counts=True)
        for value, count in zip(values.tolist(), number.tolist(), strict=True):
            counts[value] = counts.get(value, 0) + count
    rng = np.random.default_rng(seed)
    collectors = {
        value: _LabelCollector(value, count, rule.count(count), rng, len(shape))
        for value, count in sorted(counts.items())
    }
    stride = int(np.prod(shape[1:], dtype=np.int64))
    for slab in slabs:
        data = _read(mask, slab).reshape(-1)
        where = np.flatnonzero(data)
        values = data[where]
        order = np.argsort(values, kind="stable")
        where, values = where[order], values[order]
        present = np.unique(values)
        bounds = np.searchsorted(values, present), np.searchsorted(values, present, side="right")
        for value, low, high in zip(present.tolist(), *bounds, strict=True):
            collectors[value].add(where[low:high], slab.start * stride, shape)
    labels = tuple(collector.finish() for collector in collectors.values())
    return ForegroundIndex(shape, fingerprint, seed, labels)


class _LabelCollector:
    """Gathers one label's sampled voxels and bounding box over the slabs."""

    def __init__(
        self, value: int, voxels: int, keep: int, rng: np.random.Generator, ndim: int
    ) -> None:
        self.value, self.voxels, self.seen = value, voxels, 0
        self.ranks = np.sort(rng.choice(voxels, size=keep, replace=False))
        self.parts: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        self.low = [math.inf] * ndim
        self.high = [-math.inf] * ndim

    def add(self, local: np.ndarray[Any, Any], offset: int, shape: tuple[int, ...]) -> None:
        """Take the label's voxels of one slab: ``local`` ascending, from flat ``offset``."""
        flat = local.astype(np.int64) + offset
        first, last = np.searchsorted(self.ranks, [self.seen, self.seen + len(flat)])
        self.parts.append(flat[self.ranks[first:last] - self.seen])
        self.seen += len(flat)
        for axis, coordinate in enumerate(np.unravel_index(flat, shape)):
            self.low[axis] = min(self.low[axis], int(coordinate.min()))
            self.high[axis] = max(self.high[axis], int(coordinate.max()) + 1)

    def finish(self) -> LabelIndex:
        samples = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int64)
        bbox = tuple((int(a), int(b)) for a, b in zip(self.low, self.high, strict=True))
        return LabelIndex(self.value, self.voxels, bbox, samples)
