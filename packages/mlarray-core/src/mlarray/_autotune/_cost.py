"""Predicted cost of reading one random patch and of compressing, from counts, not clocks.

A patch read touches whole chunks and, inside them, whole blocks: each touched
block is decoded (the codec, then the inverse of the filter) and the patch's part
of it copied out. The expected number of touched chunks and blocks follows from
the layout alone (exactly, by counting over every patch position along each
axis); the compressed bytes read follow from the compression ratio. The read time
is a weighted sum of these counts, with a decoding cost per byte that depends on
the codec, its level and the filter (LZ4 streams written at a higher LZ4HC level
hold fewer, longer matches and decode faster). Compression time is a cost per
input byte for each setting. All weights were fitted once, offline, to
measurements by ``benchmarks/calibrate.py`` (docs/benchmarks.md, "Storage
choice"); a prediction never depends on the clock of the machine that saves a
file, so the same array always gets the same storage.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "COST_MODEL",
    "MODEL_DATE",
    "CostModel",
    "ReadFeatures",
    "read_features",
    "setting_key",
]


def setting_key(codec: str, clevel: int, filter: str, split: bool = False) -> str:
    """The name of a codec setting in the model's tables, e.g. ``"LZ4HC 8 shuffle"``.

    A setting whose blocks are compressed one byte stream at a time (blosc2's
    ``ALWAYS_SPLIT``) ends in ``" split"``, e.g. ``"LZ4HC 6 shuffle split"``.
    """
    return f"{codec} {clevel} {filter}{' split' if split else ''}"


@dataclasses.dataclass(frozen=True)
class ReadFeatures:
    """Expected work of one random patch read (each a mean over patch positions).

    Attributes:
        chunks: Chunks touched.
        blocks: Blocks touched (each decoded whole).
        decoded_bytes: Uncompressed bytes of the touched blocks.
        compressed_bytes: Their compressed size (``decoded_bytes`` over the ratio).
        chunk_bytes: Uncompressed bytes of the touched chunks.
        patch_bytes: Bytes of the patch itself (copied out).
    """

    chunks: float
    blocks: float
    decoded_bytes: float
    compressed_bytes: float
    chunk_bytes: float
    patch_bytes: float

    def with_ratio(self, ratio: float) -> ReadFeatures:
        """The same read of blocks compressed ``ratio`` times."""
        return dataclasses.replace(self, compressed_bytes=self.decoded_bytes / ratio)

    def shared(self) -> tuple[float, ...]:
        """The regressors whose weights do not depend on the setting (see ``SHARED``)."""
        return (1.0, self.chunks, self.blocks, self.chunk_bytes, self.patch_bytes)


SHARED = ("read", "chunks", "blocks", "chunk_bytes", "patch_bytes")
"""Names of :meth:`ReadFeatures.shared`'s entries."""


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Seconds of a patch read and of compression, as weighted sums.

    Attributes:
        shared: Weights of :data:`SHARED` (seconds per read, per chunk, per block,
            per chunk byte, per patch byte).
        decode: Seconds per decoded byte and per compressed byte, per setting key.
        compress: Seconds per input byte of compression in one thread, per setting key.
        source: Where the weights come from (calibration run and machine).
    """

    shared: tuple[float, ...]
    decode: Mapping[str, tuple[float, float]]
    compress: Mapping[str, float]
    source: str

    def knows(self, key: str) -> bool:
        """Whether the model has figures for the setting ``key``."""
        return key in self.decode and key in self.compress

    def read_seconds(self, features: ReadFeatures, key: str) -> float:
        """Predicted seconds of one patch read stored with setting ``key``."""
        per_decoded, per_compressed = self.decode[key]
        terms = [w * x for w, x in zip(self.shared, features.shared(), strict=True)]
        terms += [per_decoded * features.decoded_bytes, per_compressed * features.compressed_bytes]
        return math.fsum(terms)

    def compress_seconds(self, nbytes: int, key: str) -> float:
        """Predicted seconds of compressing ``nbytes`` with setting ``key`` in one thread."""
        return self.compress[key] * nbytes


def _axis_counts(size: int, patch: int, chunk: int, block: int) -> tuple[float, float]:
    """Mean chunks and blocks touched along one axis, over every patch start position.

    Blocks tile each chunk from its start (a chunk not a multiple of the block
    ends with a partial block, decoded whole); chunks tile the axis. A patch
    ``[start, start + patch)`` touches one cell plus one per cell boundary inside it.
    """
    patch = min(patch, size)
    offsets = np.arange(size) % chunk
    chunk_starts = np.cumsum(offsets == 0)
    block_starts = np.cumsum(offsets % block == 0)
    first, last = np.arange(size - patch + 1), np.arange(patch - 1, size)
    chunks = 1 + chunk_starts[last] - chunk_starts[first]
    blocks = 1 + block_starts[last] - block_starts[first]
    return float(chunks.mean()), float(blocks.mean())


def read_features(
    shape: Sequence[int],
    patch: Sequence[int],
    chunks: Sequence[int],
    blocks: Sequence[int],
    *,
    itemsize: int,
    ratio: float = 1.0,
) -> ReadFeatures:
    """Expected work of reading one patch at a uniformly random position.

    Args:
        shape: Array shape.
        patch: Patch shape, one value per axis (clipped to ``shape``).
        chunks: Chunk shape.
        blocks: Block shape.
        itemsize: Bytes per element.
        ratio: Compression ratio of the blocks (uncompressed over compressed); the
            result's :meth:`ReadFeatures.with_ratio` sets another.
    """
    chunk_count = block_count = 1.0
    for size, side, chunk, block in zip(shape, patch, chunks, blocks, strict=True):
        along_chunks, along_blocks = _axis_counts(size, side, chunk, block)
        chunk_count *= along_chunks
        block_count *= along_blocks
    decoded = block_count * math.prod(blocks) * itemsize
    patch_elements = math.prod(min(p, s) for p, s in zip(patch, shape, strict=True))
    return ReadFeatures(
        chunks=chunk_count,
        blocks=block_count,
        decoded_bytes=decoded,
        compressed_bytes=decoded / ratio,
        chunk_bytes=chunk_count * math.prod(chunks) * itemsize,
        patch_bytes=float(patch_elements * itemsize),
    )


MODEL_DATE = "2026-12-03"
"""When the weights of :data:`COST_MODEL` were calibrated (recorded with each choice)."""
COST_MODEL = CostModel(
    shared=(0, 0, 8.324e-08, 0, 2.97e-10),
    decode={
        "LZ4 9 bitshuffle": (1.181e-10, 2.639e-10),
        "LZ4 9 none": (1.048e-10, 6.878e-10),
        "LZ4 9 shuffle": (8.584e-11, 1.413e-10),
        "LZ4HC 2 bitshuffle": (1.117e-10, 2.674e-10),
        "LZ4HC 2 none": (6.635e-11, 6.553e-10),
        "LZ4HC 2 shuffle": (8.011e-11, 1.896e-10),
        "LZ4HC 8 bitshuffle": (9.689e-11, 2.609e-10),
        "LZ4HC 8 none": (7.327e-12, 7.442e-10),
        "LZ4HC 8 shuffle": (1.568e-11, 2.792e-10),
        "LZ4HC 8 shuffle split": (4.56e-11, 1.503e-10),
        "LZ4HC 9 none": (0, 7.533e-10),
        "LZ4HC 9 shuffle": (9.667e-12, 2.82e-10),
        "LZ4HC 9 shuffle split": (4.557e-11, 1.419e-10),
    },
    compress={
        "LZ4 9 bitshuffle": 1.175e-09,
        "LZ4 9 none": 1.626e-09,
        "LZ4 9 shuffle": 1.001e-09,
        "LZ4HC 2 bitshuffle": 1.962e-09,
        "LZ4HC 2 none": 2.405e-09,
        "LZ4HC 2 shuffle": 2.836e-09,
        "LZ4HC 8 bitshuffle": 6.341e-09,
        "LZ4HC 8 none": 6.819e-09,
        "LZ4HC 8 shuffle": 7.568e-09,
        "LZ4HC 8 shuffle split": 7.467e-09,
        "LZ4HC 9 none": 8.697e-09,
        "LZ4HC 9 shuffle": 8.765e-09,
        "LZ4HC 9 shuffle split": 1e-08,
    },
    source=(
        f"benchmarks/calibrate.py, {MODEL_DATE}: 7 volumes x 4 layouts x 11 settings (13 for "
        "multi-byte items), 128^3 reads, "
        "Intel Xeon (AVX-512) 2 vCPUs, blosc2 4.15.0"
    ),
)
"""The calibrated model (``python benchmarks/calibrate.py``; docs/benchmarks.md)."""
