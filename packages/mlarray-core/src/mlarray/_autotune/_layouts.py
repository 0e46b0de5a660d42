"""The layout of the automatic choice: the one the ``mlarray`` 0.0.54 package gives.

:func:`legacy_layout` reproduces the chunk and block shapes of the 0.0.54
package (its ``spatial_only_magnitude`` strategy, checked against the package by
the interop tests). The choice must be at least as compact as 0.0.54's default
codec on these blocks; trying codecs and filters on the very same blocks makes
that comparison exact on the sample. Other block shapes were measured
(docs/benchmarks.md, "Storage choice"): none read faster at 0.0.54's ratio on
the CT and MRI volumes, and comparing the ratios of different blocks from a
small sample was not reliable enough to keep files as small as 0.0.54's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from mlarray.chunking import scatter

__all__ = [
    "NamedLayout",
    "legacy_block",
    "legacy_chunk",
    "legacy_layout",
]

LEGACY_L1_BUDGET = int(32768 * 0.8)
"""Block budget of the 0.0.54 package's layout (L1 32 KiB, safety factor 0.8)."""
LEGACY_L3_BUDGET = int(1441792 * 0.8)
"""Chunk budget of the 0.0.54 package's layout (L3 1.375 MiB, safety factor 0.8)."""


@dataclasses.dataclass(frozen=True)
class NamedLayout:
    """Chunk and block shapes over all axes of the array.

    Attributes:
        name: Where the layout comes from, e.g. ``"0.0.54"``.
        chunks: Chunk shape.
        blocks: Block shape.
    """

    name: str
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]


def _legacy_steps(patch: Sequence[float]) -> list[int]:
    """Growth steps of the 0.0.54 layout: the patch's proportions, rounded, at least 1."""
    smallest = max(1, min(patch))
    return [max(1, round(max(1, p) / smallest)) for p in patch]


def _best_growth(
    sizes: list[int], image: Sequence[int], limit: int, target: Callable[[int], int | None]
) -> list[int] | None:
    """The one-axis growth of ``sizes`` with the largest product within ``limit``.

    ``target(axis)`` gives the side an axis would grow to (None: it cannot); sides
    are clipped to the image. Axes are tried from the last; the first largest wins.
    """
    best: tuple[int, list[int]] | None = None
    for axis in range(len(sizes) - 1, -1, -1):
        if sizes[axis] >= image[axis]:
            continue
        side = target(axis)
        if side is None or side <= sizes[axis]:
            continue
        trial = [*sizes[:axis], min(side, image[axis]), *sizes[axis + 1 :]]
        volume = math.prod(trial)
        if volume <= limit and (best is None or volume > best[0]):
            best = (volume, trial)
    return None if best is None else best[1]


def legacy_block(patch: Sequence[float], image: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """The block of the 0.0.54 package's layout (spatial axes only).

    Even sides grow in steps of twice the patch's proportions; at each step the
    growth that fills the 32 KiB x 0.8 budget most wins (ties: the last axis).
    """
    limit = LEGACY_L1_BUDGET // itemsize
    steps = [2 * step for step in _legacy_steps(patch)]
    block = [1 if n == 1 else 2 for n in image]

    def target(axis: int) -> int:
        return block[axis] + steps[axis]

    while True:
        grown = _best_growth(block, image, limit, target)
        if grown is None:
            return tuple(block)
        block[:] = grown


def legacy_chunk(
    block: Sequence[int], patch: Sequence[float], image: Sequence[int], itemsize: int
) -> tuple[int, ...]:
    """The chunk of the 0.0.54 package's layout around ``block`` (spatial axes only).

    Sides grow by whole blocks, in steps of the patch's proportions, while the
    chunk fits the L3 budget (1.375 MiB x 0.8); an axis stops growing once it is
    longer than 1.5 times the patch. A side reaching the image is clipped to it.
    """
    limit = LEGACY_L3_BUDGET // itemsize
    steps = _legacy_steps(patch)
    chunk = list(block)
    stopped = [side > 1.5 * p for side, p in zip(chunk, patch, strict=True)]

    def target(axis: int) -> int | None:
        if stopped[axis]:
            return None
        side, upper, unit = chunk[axis], image[axis], block[axis]
        grown = side + steps[axis] * unit
        if grown >= upper:
            return upper
        grown = max(grown // unit * unit, side + unit)
        return upper if grown >= upper else grown if grown % 2 == 0 else None

    while True:
        grown = _best_growth(chunk, image, limit, target)
        if grown is None:
            return tuple(chunk)
        axis = next(a for a, (old, new) in enumerate(zip(chunk, grown, strict=True)) if old != new)
        chunk = grown
        stopped[axis] = stopped[axis] or chunk[axis] > 1.5 * patch[axis]


def legacy_layout(
    shape: Sequence[int], itemsize: int, *, patch: Sequence[float], mask: Sequence[bool]
) -> NamedLayout:
    """The layout 0.0.54 gives an array: its requested patch over its spatial axes.

    Args:
        shape: Array shape.
        itemsize: Bytes per element.
        patch: The patch asked for, one value per spatial axis (not clipped).
        mask: The spatial axes as 0.0.54 sees them (all of them without axis labels).
    """
    image = [n for n, spatial in zip(shape, mask, strict=True) if spatial]
    block = legacy_block(patch, image, itemsize)
    chunk = legacy_chunk(block, patch, image, itemsize)
    return NamedLayout("0.0.54", scatter(chunk, mask), scatter(block, mask))
