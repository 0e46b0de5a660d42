"""Intensity statistics computed while converting (label maps: :mod:`mlarray_io._label_stats`).

Intensity statistics follow the schema (``docs/schema.md``): minimum, maximum,
mean, median and standard deviation of every finite voxel; the 0.5th and 99.5th
percentiles (``percentile_min_key`` 0.005, ``percentile_max_key`` 0.995, with
NumPy's linear interpolation) and the mean, median and standard deviation of
the voxels between them. All are exact and nothing is sorted: integer images
with a moderate value range (CT, MR) are counted in one histogram; other images
are counted in 65536 buckets, and only the few buckets holding a percentile or
a median, and the tails beyond the percentiles, are read again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["PERCENTILE_KEYS", "c_ordered", "image_statistics"]

Array = npt.NDArray[Any]
Summary = tuple[float, float, float]
"""Mean, median and standard deviation."""

PERCENTILE_KEYS = (0.005, 0.995)
"""The percentiles recorded, as fractions (``percentile_min_key``, ``percentile_max_key``)."""
_HISTOGRAM_BINS = 1 << 22
"""Integer images whose values span at most this many integers are counted in a histogram."""
_BUCKETS = 1 << 16
_SLAB_ELEMENTS = 1 << 23


def _slabs(values: Array) -> Iterator[tuple[slice, Array]]:
    """``(rows, values[rows])`` along axis 0, each of about ``_SLAB_ELEMENTS`` voxels."""
    step = max(1, _SLAB_ELEMENTS // max(1, int(np.prod(values.shape[1:]))))
    for start in range(0, values.shape[0], step):
        rows = slice(start, start + step)
        yield rows, values[rows]


def c_ordered(values: Array) -> Array:
    """``values``, or its transpose when that one is C-contiguous (NIfTI arrays are in
    Fortran order): slabs along the first axis are then contiguous."""
    if values.flags.f_contiguous and not values.flags.c_contiguous:
        return values.T
    return values


def _interpolated(a: float, b: float, position: float) -> float:
    """NumPy's linear interpolation between the order statistics at floor and floor + 1."""
    t = position - int(position)
    return a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t)


class _Counts:
    """The voxels sorted into ordered bins (integers, or buckets of reals) and counted."""

    def __init__(self, counts: Array) -> None:
        self.counts = counts
        self.before = np.concatenate(([0], np.cumsum(counts)))
        self.total = int(self.before[-1])

    def bin(self, rank: int) -> int:
        """The bin holding the voxel of ``rank`` in sorted order."""
        return int(np.searchsorted(self.before, rank, side="right")) - 1

    def positions(self, fractions: list[float], *, offset: int = 0, size: int | None = None) -> (
        list[tuple[int, int, float]]
    ):  # fmt: skip
        """``(rank, rank + 1, position)`` of each quantile of ``size`` voxels from ``offset``."""
        size = self.total if size is None else size
        found = []
        for fraction in fractions:
            position = offset + (size - 1) * fraction
            found.append((int(position), min(int(position) + 1, self.total - 1), position))
        return found


def _histogram_statistics(values: Array, lo: int, hi: int) -> dict[str, float]:
    counts = np.zeros(hi - lo + 1, dtype=np.int64)
    for _, slab in _slabs(values):
        counts += np.bincount(np.subtract(slab.ravel(), lo, dtype=np.intp), minlength=len(counts))
    levels = np.arange(lo, hi + 1, dtype=np.float64)
    whole = _Counts(counts)

    def quantiles(fractions: list[float], offset: int = 0, size: int | None = None) -> list[float]:
        return [
            _interpolated(levels[whole.bin(a)], levels[whole.bin(b)], position)
            for a, b, position in whole.positions(fractions, offset=offset, size=size)
        ]

    low, median, high = quantiles([PERCENTILE_KEYS[0], 0.5, PERCENTILE_KEYS[1]])
    inside = (levels >= low) & (levels <= high)
    weights = counts * inside
    size = int(weights.sum())
    inner = None
    if size:
        offset = int(counts[levels < low].sum())
        inner = (*_moments(levels, weights), quantiles([0.5], offset, size)[0])
    return _fields(lo, hi, (*_moments(levels, counts), median), low, high, inner)


def _moments(levels: Array, counts: Array) -> tuple[float, float]:
    """Mean and standard deviation of ``levels`` repeated ``counts`` times."""
    weights = counts.astype(np.float64)
    mean = float(np.dot(levels, weights) / weights.sum())
    return mean, float(np.sqrt(np.dot((levels - mean) ** 2, weights) / weights.sum()))


def _bucket_statistics(values: Array) -> dict[str, float]:
    """Exact statistics of real values: counted in buckets, a few buckets read again."""
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return _fields(lo, hi, (lo, 0.0, lo), lo, lo, (lo, 0.0, lo))
    work, scale = _bucket_scale(values.dtype, lo, hi)
    codes = np.zeros(values.shape, dtype=np.uint16)  # monotone in the value
    counts = np.zeros(_BUCKETS, dtype=np.int64)
    shift = float(values.flat[0])
    sums = np.zeros(2)
    for rows, slab in _slabs(values):
        real = slab.astype(work, copy=False)
        if scale:
            scaled = real - work.type(lo)
            scaled *= work.type(scale)
            codes[rows] = scaled
        counts += np.bincount(codes[rows].ravel(), minlength=_BUCKETS)
        shifted = real.ravel().astype(np.float64) - shift
        sums += (shifted.sum(), np.dot(shifted, shifted))
    whole = _Counts(counts)
    (a0, b0, p0), (a1, b1, p1) = whole.positions(list(PERCENTILE_KEYS))
    first, last = whole.bin(b0), whole.bin(a1)
    selected = (codes <= first) | (codes >= last)
    tail, tail_codes = values[selected].astype(np.float64), codes[selected]
    edges = {whole.bin(rank) for rank in (a0, b0, a1, b1)}
    order = _Order(whole, {bucket: tail[tail_codes == bucket] for bucket in edges})
    low, high = order.quantile(a0, b0, p0), order.quantile(a1, b1, p1)
    below, above = tail[tail < low], tail[tail > high]
    size = values.size - below.size - above.size
    middle = whole.positions([0.5]) + whole.positions([0.5], offset=below.size, size=size)
    order.read(values, codes, [whole.bin(rank) for a, b, _ in middle for rank in (a, b)])
    median, inner_median = (order.quantile(*position) for position in middle)
    outside = np.concatenate([below, above]) - shift
    inner_sums = sums - (outside.sum(), np.dot(outside, outside))
    inner = (*_shifted_moments(inner_sums, size, shift), inner_median) if size else None
    return _fields(lo, hi, (*_shifted_moments(sums, values.size, shift), median), low, high, inner)


def _bucket_scale(dtype: np.dtype[Any], lo: float, hi: float) -> tuple[np.dtype[Any], float]:
    """The dtype to bucket values in, and the factor mapping ``lo..hi`` to the buckets.

    float32 values are bucketed in float32 when it holds the factor; a range
    float64 cannot scale (beyond 1e308, or subnormal) gets factor 0: one bucket.
    """
    span = hi - lo
    scale = (_BUCKETS - 1) / span if math.isfinite(span) else 0.0
    if not math.isfinite(scale):
        scale = 0.0
    largest = float(np.finfo(np.float32).max)
    if dtype == np.float32 and scale and scale < largest and span < largest:
        return np.dtype(np.float32), scale
    return np.dtype(np.float64), scale


@dataclass
class _Order:
    """Order statistics of bucketed values, from the values of the buckets read."""

    counts: _Counts
    buckets: dict[int, Array]

    def read(self, values: Array, codes: Array, wanted: list[int]) -> None:
        """Read the buckets ``wanted`` that were not read yet, in one pass."""
        missing = sorted(set(wanted) - set(self.buckets))
        if missing:
            selected = codes == missing[0]
            for bucket in missing[1:]:
                selected |= codes == bucket
            found, found_codes = values[selected].astype(np.float64), codes[selected]
            self.buckets.update({b: found[found_codes == b] for b in missing})

    def at(self, rank: int) -> float:
        bucket = self.counts.bin(rank)
        inside = self.buckets[bucket]
        offset = rank - int(self.counts.before[bucket])
        return float(np.partition(inside, offset)[offset])

    def quantile(self, a: int, b: int, position: float) -> float:
        return _interpolated(self.at(a), self.at(b), position)


def _shifted_moments(sums: Array, size: int, shift: float) -> tuple[float, float]:
    """Mean and standard deviation from the sum and sum of squares of ``value - shift``."""
    mean = sums[0] / size
    return shift + float(mean), float(np.sqrt(max(sums[1] / size - mean * mean, 0.0)))


def _fields(
    lo: float, hi: float, whole: Summary, low: float, high: float, inner: Summary | None
) -> dict[str, float]:
    """The ``meta.stats`` fields from ``(mean, std, median)`` summaries; ``inner`` may be None."""
    fields = {"min": lo, "max": hi, "mean": whole[0], "std": whole[1], "median": whole[2]}
    fields |= {"percentile_min": low, "percentile_max": high}
    if inner is not None:
        fields |= {"percentile_mean": inner[0], "percentile_std": inner[1]}
        fields["percentile_median"] = inner[2]
    fields["percentile_min_key"], fields["percentile_max_key"] = PERCENTILE_KEYS
    # A standard deviation of values near 1e308 overflows float64: left out, not stored as inf.
    return {name: float(value) for name, value in fields.items() if math.isfinite(value)}


def image_statistics(values: Array) -> dict[str, float] | None:
    """The ``meta.stats`` fields of an image's finite voxels.

    Args:
        values: The voxel values.

    Returns:
        The statistics (the three between the percentiles are left out when no
        voxel lies between them), or None for an image without finite real values.
    """
    kind = values.dtype.kind
    if values.size == 0 or kind not in "biuf":
        return None
    values = c_ordered(values)
    if kind in "biu":
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < _HISTOGRAM_BINS:
            return _histogram_statistics(values, lo, hi)
    else:
        finite = np.isfinite(values)
        if not finite.all():
            values = values[finite]
        if values.size == 0:
            return None
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing sums are left out
        return _bucket_statistics(values)
