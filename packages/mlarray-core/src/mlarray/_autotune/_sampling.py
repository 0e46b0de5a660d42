"""Estimating a layout's compression ratio from a few of its blocks.

The blocks sampled are real blocks of the layout (aligned to its chunk and
block grid, as the file will hold them), chosen at sites spread evenly over the
array by a low-discrepancy sequence fixed by the array's shape. Blocks of one
repeated value (air, background) compress to a few bytes with every setting; the
estimate counts them among many cheap sites and compresses only the others, so
that a small sample says how the informative blocks compress. Every setting of a
layout is tried on the same bytes, so that their ratios differ by the setting alone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import blosc2
import numpy as np

from mlarray._autotune._layouts import NamedLayout

__all__ = ["LayoutSample", "sample_count", "sample_layout"]

SAMPLE_SHARE = 128
"""The bytes compressed per setting are 1/128 of the array, within :data:`SAMPLE_BYTES`."""
SAMPLE_BYTES = (32 * 1024, 256 * 1024)
MIN_BLOCKS = 4
SITES_PER_BLOCK = 8
"""Sites checked for uniformity per block compressed."""
UNIFORM_BLOCK_BYTES = 13
"""What a block of one repeated value takes in a chunk (its stream and its offset)."""
START = 0.5
"""First point of the site sequence (in units of the array's extent)."""


def _sites(shape: Sequence[int], count: int) -> list[tuple[int, ...]]:
    """``count`` points spread evenly over the array, fixed by its shape.

    An additive recurrence with the generalized golden ratio (the plastic number
    in 2D): evenly spread in any dimension, and the first points of a longer run
    are those of a shorter one.
    """
    ndim = len(shape)
    phi = 2.0
    for _ in range(64):
        phi = (1.0 + phi) ** (1.0 / (ndim + 1))
    steps = [phi ** -(axis + 1) for axis in range(ndim)]
    return [
        tuple(
            int(((START + step * (index + 1)) % 1.0) * size)
            for step, size in zip(steps, shape, strict=True)
        )
        for index in range(count)
    ]


def _block_at(site: Sequence[int], layout: NamedLayout, shape: Sequence[int]) -> tuple[slice, ...]:
    """The layout's block holding ``site`` (moved inside the array when it would cross its end)."""
    box = []
    for position, chunk, block, size in zip(site, layout.chunks, layout.blocks, shape, strict=True):
        base = position - position % chunk
        start = min(base + (position - base) // block * block, size - block)
        box.append(slice(start, start + block))
    return tuple(box)


def _uniform(values: np.ndarray[Any, Any]) -> bool:
    """Whether every element of ``values`` is the same (NaN counts as equal to NaN)."""
    first = values.flat[0]
    if first != first:  # NaN
        return bool(np.isnan(values).all())
    return bool((values == first).all())


@dataclasses.dataclass(frozen=True)
class LayoutSample:
    """Sample blocks of one layout.

    Attributes:
        layout: The layout.
        data: The non-uniform sample blocks, each in C order, one after another.
        blocks: How many blocks ``data`` holds.
        block_bytes: Bytes of one block.
        uniform_fraction: Share of the sites whose block holds one repeated value.
    """

    layout: NamedLayout
    data: bytes
    blocks: int
    block_bytes: int
    uniform_fraction: float

    def ratio(self, cparams: dict[str, Any]) -> float:
        """Estimated compression ratio of the layout's blocks with ``cparams``."""
        if self.blocks == 0:
            return self.block_bytes / UNIFORM_BLOCK_BYTES
        compressed: bytes = blosc2.compress2(
            self.data, **cparams, blocksize=self.block_bytes, nthreads=1
        )
        overhead: int = blosc2.MAX_OVERHEAD
        per_block = (len(compressed) - overhead) / self.blocks
        mixed = self.uniform_fraction * UNIFORM_BLOCK_BYTES
        return self.block_bytes / (mixed + (1.0 - self.uniform_fraction) * per_block)


def sample_count(nbytes: int, block_bytes: int) -> int:
    """Blocks to compress per setting for an array of ``nbytes``."""
    low, high = SAMPLE_BYTES
    return max(MIN_BLOCKS, min(max(nbytes // SAMPLE_SHARE, low), high) // block_bytes)


def sample_layout(array: np.ndarray[Any, Any], layout: NamedLayout, count: int) -> LayoutSample:
    """Up to ``count`` non-uniform blocks of ``layout`` and the share of uniform ones.

    Args:
        array: The array.
        layout: The layout whose blocks are sampled.
        count: Non-uniform blocks wanted; :data:`SITES_PER_BLOCK` times as many
            sites are looked at, in order, until that many are found.
    """
    block_bytes = math.prod(layout.blocks) * array.itemsize
    pieces: list[bytes] = []
    uniform = looked = 0
    for site in _sites(array.shape, SITES_PER_BLOCK * count):
        values = array[_block_at(site, layout, array.shape)]
        looked += 1
        if _uniform(values):
            uniform += 1
        else:
            pieces.append(np.ascontiguousarray(values).tobytes())
            if len(pieces) == count:
                break
    return LayoutSample(layout, b"".join(pieces), len(pieces), block_bytes, uniform / looked)
