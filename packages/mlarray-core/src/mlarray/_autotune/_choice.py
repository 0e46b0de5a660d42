"""The choice itself: every candidate's ratio and predicted read time, and the rule.

A candidate is a codec, level and filter (with or without splitting each block
into its byte streams) on the layout of the ``mlarray`` 0.0.54 package for the
patch size (:mod:`._layouts`). Its ratio comes from compressing sample blocks
(:mod:`._sampling`); its read time from the calibrated cost model
(:mod:`._cost`). The reference is what the ``mlarray`` 0.0.54 package writes:
LZ4HC level 8 with byte shuffle on its own layout. The rule: among the
candidates at least as compact as the reference (the others by a margin of
:data:`RATIO_MARGIN`, the sampling error of one setting against another), the
one predicted to read patches fastest; among those within
:data:`READ_TOLERANCE` of it (the model's precision), the most compact, then the
one that compresses fastest. The reference is itself a candidate, so some
candidate always qualifies.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import blosc2
import numpy as np

from mlarray._autotune._cost import COST_MODEL, ReadFeatures, read_features, setting_key
from mlarray._autotune._layouts import NamedLayout, legacy_layout
from mlarray._autotune._sampling import LayoutSample, sample_count, sample_layout

__all__ = ["Candidate", "StorageChoice", "Trial", "choose_storage"]

FILTERS = {
    "none": blosc2.Filter.NOFILTER,
    "shuffle": blosc2.Filter.SHUFFLE,
    "bitshuffle": blosc2.Filter.BITSHUFFLE,
}
CODECS = ((blosc2.Codec.LZ4, 9), (blosc2.Codec.LZ4HC, 8))
"""Codec and level pairs tried with every filter. Both are decoded by LZ4's
decoder; streams written at LZ4HC level 8 hold fewer, longer matches and decode
faster, LZ4 compresses several times faster (docs/benchmarks.md, "Storage choice")."""
DENSER = ((blosc2.Codec.LZ4HC, 9, "shuffle", False),)
"""Also tried on every array: LZ4HC level 9 with byte shuffle, 0.1-3% smaller than
level 8 on the benchmark volumes (label masks the most) at about the same read
speed (docs/benchmarks.md, "Storage choice")."""
SPLIT = ((blosc2.Codec.LZ4HC, 8, "shuffle", True), (blosc2.Codec.LZ4HC, 9, "shuffle", True))
"""Also tried on items of two bytes or more: LZ4HC with byte shuffle and each byte
stream compressed on its own. Blosc2 splits LZ4 streams but not LZ4HC ones by
default; split streams were 0.0-0.9% smaller and read at 0.95-1.13x the speed in
the calibration (docs/benchmarks.md, "Storage choice")."""
REFERENCE = (blosc2.Codec.LZ4HC, 8, "shuffle")
"""The 0.0.54 package's default codec, level and filter."""
READ_TOLERANCE = 0.03
"""Predicted read times this close to the fastest count as equally fast."""
RATIO_MARGIN = 0.001
"""How much more compact than the reference another candidate's sample must be: the
error of one setting's ratio against another's, estimated from the same sample blocks,
was at most 0.1% on the benchmark's full-size volumes."""
RULE = (
    "fastest predicted patch read among the candidates (codec, level, filter and split on "
    "mlarray 0.0.54's layout) at least as compact as its default (LZ4HC 8 + shuffle) on the "
    "same sample blocks, the others by 0.1%; within 3% of the fastest, the most compact, "
    "then the fastest to compress"
)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One way to store the array.

    Attributes:
        codec: Blosc2 codec.
        clevel: Compression level.
        filter: ``"none"``, ``"shuffle"`` or ``"bitshuffle"``.
        layout: Chunk and block shapes.
        split: Whether each block's byte streams are compressed one by one
            (``blosc2.SplitMode.ALWAYS_SPLIT``); otherwise blosc2's default.
    """

    codec: blosc2.Codec
    clevel: int
    filter: str
    layout: NamedLayout
    split: bool = False

    @property
    def key(self) -> str:
        """The setting's name in the cost model, e.g. ``"LZ4HC 8 shuffle"``."""
        return setting_key(self.codec.name, self.clevel, self.filter, self.split)

    def cparams(self, typesize: int) -> dict[str, Any]:
        """Blosc2 compression parameters of this candidate."""
        params: dict[str, Any] = {
            "codec": self.codec,
            "clevel": self.clevel,
            "filters": [FILTERS[self.filter]],
            "filters_meta": [0],
            "typesize": typesize,
        }
        if self.split:
            params["splitmode"] = blosc2.SplitMode.ALWAYS_SPLIT
        return params

    def describe(self) -> str:
        """Short text, e.g. ``LZ4HC 8 shuffle, blocks 22x24x24 (0.0.54)``."""
        blocks = "x".join(map(str, self.layout.blocks))
        return f"{self.key}, blocks {blocks} ({self.layout.name})"


@dataclasses.dataclass(frozen=True)
class Trial:
    """A candidate with its estimated figures.

    Attributes:
        candidate: The candidate.
        ratio: Estimated compression ratio.
        read_seconds: Predicted seconds of one random patch read.
        compress_seconds: Predicted seconds to compress the array in one thread.
    """

    candidate: Candidate
    ratio: float
    read_seconds: float
    compress_seconds: float


@dataclasses.dataclass(frozen=True)
class StorageChoice:
    """The outcome of :func:`choose_storage`.

    Attributes:
        chosen: The trial chosen.
        reference: What the 0.0.54 package would write, estimated alike.
        trials: Every candidate tried (the chosen one included).
        patch: The patch shape (all axes) the reads were predicted for.
        sample_blocks: Blocks compressed per setting on the 0.0.54 layout.
        compressed_bytes: Bytes compressed to make the choice, over all settings
            (the work it adds to a save, which compresses every byte once).
        compress_seconds: Predicted seconds of that compression in one thread (the
            cost model's weights per setting), to set against ``chosen.compress_seconds``.
        rule: The rule, in words.
    """

    chosen: Trial
    reference: Trial
    trials: tuple[Trial, ...]
    patch: tuple[int, ...]
    sample_blocks: int
    compressed_bytes: int
    compress_seconds: float
    rule: str


class _Trials:
    """Trials of one array: sample blocks per layout and read counts, each made once."""

    def __init__(self, array: np.ndarray[Any, Any], patch: tuple[int, ...]) -> None:
        self.array, self.patch = array, patch
        self.samples: dict[NamedLayout, LayoutSample] = {}
        self._reads: dict[NamedLayout, ReadFeatures] = {}
        self._trials: dict[Candidate, Trial] = {}
        self._ratios: dict[Candidate, float] = {}
        self.compressed_bytes = 0
        self.compress_seconds = 0.0

    def sample(self, layout: NamedLayout) -> LayoutSample:
        if layout not in self.samples:
            block_bytes = math.prod(layout.blocks) * self.array.itemsize
            count = sample_count(self.array.nbytes, block_bytes)
            self.samples[layout] = sample_layout(self.array, layout, count)
        return self.samples[layout]

    def _ratio(self, candidate: Candidate) -> float:
        """The sampled ratio; each distinct byte stream compressed once."""
        if self.array.itemsize == 1 and candidate.filter == "shuffle":
            # Byte shuffle leaves one-byte items as they are: the same bytes as no filter.
            candidate = dataclasses.replace(candidate, filter="none")
        if candidate not in self._ratios:
            sample = self.sample(candidate.layout)
            self._ratios[candidate] = sample.ratio(candidate.cparams(self.array.itemsize))
            self.compressed_bytes += len(sample.data)
            self.compress_seconds += COST_MODEL.compress_seconds(len(sample.data), candidate.key)
        return self._ratios[candidate]

    def trial(self, candidate: Candidate) -> Trial:
        if candidate not in self._trials:
            self._trials[candidate] = self._try(candidate)
        return self._trials[candidate]

    def _try(self, candidate: Candidate) -> Trial:
        array, layout = self.array, candidate.layout
        ratio = self._ratio(candidate)
        if layout not in self._reads:
            self._reads[layout] = read_features(
                array.shape, self.patch, layout.chunks, layout.blocks, itemsize=array.itemsize
            )
        reads = COST_MODEL.read_seconds(self._reads[layout].with_ratio(ratio), candidate.key)
        compress = COST_MODEL.compress_seconds(array.nbytes, candidate.key)
        return Trial(candidate, ratio, reads, compress)


def settings(itemsize: int) -> list[tuple[blosc2.Codec, int, str, bool]]:
    """Codec, level, filter and split of the candidates for items of ``itemsize`` bytes.

    Byte shuffle is tried on one-byte items too, as 0.0.54 applies it (the same
    bytes as no filter); splitting only on items of two bytes or more (one-byte
    items make one stream).
    """
    tried = [(codec, level, name, False) for codec, level in CODECS for name in FILTERS]
    return tried + list(DENSER) + (list(SPLIT) if itemsize > 1 else [])


def choose_storage(
    array: np.ndarray[Any, Any],
    *,
    patch: Sequence[int],
    mask: Sequence[bool],
    legacy_patch: Sequence[float],
    legacy_mask: Sequence[bool],
) -> StorageChoice:
    """Choose codec, level, filter, chunk and block shape for ``array``.

    Args:
        array: The array to store.
        patch: The patch over the spatial axes of ``mask``, clipped to the array
            (the reads are predicted for it).
        mask: For every axis, whether it is spatial for the patch.
        legacy_patch: The patch asked for, per spatial axis of ``legacy_mask``.
        legacy_mask: The spatial axes as 0.0.54 sees them.

    Returns:
        The choice, with every candidate's figures.
    """
    full_patch = tuple(
        min(p, n) if spatial else n
        for p, n, spatial in zip(_scatter_patch(patch, mask), array.shape, mask, strict=True)
    )
    trials = _Trials(array, full_patch)
    legacy = legacy_layout(array.shape, array.itemsize, patch=legacy_patch, mask=legacy_mask)
    tried = [
        trials.trial(Candidate(codec, level, name, legacy, split))
        for codec, level, name, split in settings(array.itemsize)
    ]
    reference = trials.trial(Candidate(*REFERENCE, legacy))
    enough = reference.ratio * (1.0 + RATIO_MARGIN)
    eligible = [t for t in tried if t == reference or t.ratio >= enough]
    fastest = min(t.read_seconds for t in eligible)
    near = [t for t in eligible if t.read_seconds <= fastest * (1.0 + READ_TOLERANCE)]
    chosen = min(near, key=lambda t: (-t.ratio, t.compress_seconds, t.read_seconds))
    count = trials.sample(legacy).blocks
    return StorageChoice(
        chosen,
        reference,
        tuple(tried),
        full_patch,
        count,
        trials.compressed_bytes,
        trials.compress_seconds,
        RULE,
    )


def _scatter_patch(patch: Sequence[int], mask: Sequence[bool]) -> list[int]:
    """The patch over all axes: its sides on the spatial axes, 0 elsewhere (then the axis)."""
    sides = iter(patch)
    return [next(sides) if spatial else 0 for spatial in mask]
