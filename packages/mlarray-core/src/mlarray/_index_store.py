"""The foreground index of a segmentation, stored in its ``.mla`` file in binary form.

The index lives in the vlmeta entry :data:`INDEX_KEY`, next to the metadata
envelope, as an uncompressed (memcpyed) Blosc2 chunk holding a msgpack ``bin``:
``mlarray_meta``'s standard-library frame reader returns its bytes without
decompressing the volume. The byte layout is in ``docs/format.md``; this module
encodes and decodes it, and ties an index to the exact chunks it was computed
from through a fingerprint (:func:`chunks_fingerprint`), so that an index whose
mask changed since is recognised and never used.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from mlarray.errors import FileFormatError, MetaValidationError

__all__ = [
    "INDEX_KEY",
    "MAX_INDEX_SAMPLES",
    "ForegroundIndex",
    "LabelIndex",
    "chunks_fingerprint",
    "decode_index",
    "encode_index",
]

INDEX_KEY: Final = "mla_foreground"
"""vlmeta key of the foreground index."""
MAGIC: Final = b"MLAFGIDX"
VERSION: Final = (1, 0)
MAX_INDEX_SAMPLES: Final = 2**27
"""Most voxel samples (all labels together) an index may hold."""
MAX_LABELS: Final = 2**16
MAX_NDIM: Final = 32

_HEAD: Final = struct.Struct("<8sHHBBH")  # magic, major, minor, ndim, width, reserved
_TAIL: Final = struct.Struct("<16sQI")  # fingerprint, seed, label count
_LABEL: Final = struct.Struct("<qQI")  # value, voxel count, sample count
_DIGEST: Final = 16


@dataclass(frozen=True)
class LabelIndex:
    """Where one label of a segmentation lies.

    Attributes:
        value: The label value.
        voxels: How many voxels hold it.
        bbox: Its bounding box, ``((start, stop), ...)`` per array axis (stop exclusive).
        samples: Sorted C-order linear indices of a seeded sample of its voxels.
    """

    value: int
    voxels: int
    bbox: tuple[tuple[int, int], ...]
    samples: np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True)
class ForegroundIndex:
    """The foreground index of a segmentation array: per label, a box and voxel samples.

    Attributes:
        shape: Shape of the array it was computed from.
        fingerprint: :func:`chunks_fingerprint` of the stored chunks it was computed
            from (16 bytes; all zero when computed from an array not yet stored).
        seed: Seed of the voxel sample.
        labels: One entry per non-zero label present, by increasing value.
    """

    shape: tuple[int, ...]
    fingerprint: bytes
    seed: int
    labels: tuple[LabelIndex, ...]

    def coordinates(self, label: LabelIndex, number: int) -> tuple[int, ...]:
        """Array coordinates of sample ``number`` of ``label``."""
        flat = int(label.samples[number])
        return tuple(int(i) for i in np.unravel_index(flat, self.shape))

    def label(self, value: int) -> LabelIndex | None:
        """The entry of label ``value``, or None if that label is absent."""
        return next((entry for entry in self.labels if entry.value == value), None)


def chunks_fingerprint(
    shape: tuple[int, ...], dtype: str, chunk_crcs: list[int] | tuple[int, ...]
) -> bytes:
    """Fingerprint of an array's stored bytes: BLAKE2b-128 of its layout and chunk CRC-32s.

    ``chunk_crcs`` are the CRC-32 of every compressed chunk as stored, the same
    values as the integrity record of the metadata envelope lists, so the
    fingerprint of a file with a current record costs nothing to recompute.
    """
    digest = hashlib.blake2b(digest_size=_DIGEST)
    digest.update(f"{[int(n) for n in shape]}|{dtype}|".encode())
    digest.update(np.asarray(chunk_crcs, dtype="<u4").tobytes())
    return digest.digest()


def encode_index(index: ForegroundIndex) -> bytes:
    """Encode ``index`` in the binary layout of ``docs/format.md``.

    Raises:
        MetaValidationError: The index is too large for the format.
    """
    ndim = len(index.shape)
    total = sum(len(label.samples) for label in index.labels)
    if total > MAX_INDEX_SAMPLES or len(index.labels) > MAX_LABELS or ndim > MAX_NDIM:
        raise MetaValidationError(
            f"foreground index: {len(index.labels)} labels, {total} samples, {ndim} axes; "
            f"the format holds at most {MAX_LABELS}, {MAX_INDEX_SAMPLES}, {MAX_NDIM}"
        )
    width = 4 if int(np.prod(index.shape, dtype=np.uint64)) < 2**32 else 8
    parts = [
        _HEAD.pack(MAGIC, *VERSION, ndim, width, 0),
        struct.pack(f"<{ndim}Q", *index.shape),
        _TAIL.pack(index.fingerprint, index.seed, len(index.labels)),
    ]
    deltas = []
    for label in index.labels:
        parts.append(_LABEL.pack(label.value, label.voxels, len(label.samples)))
        parts.append(struct.pack(f"<{2 * ndim}Q", *(v for span in label.bbox for v in span)))
        deltas.append(np.diff(label.samples, prepend=0).astype(f"<u{width}"))
    body = np.concatenate(deltas).tobytes() if deltas else b""
    parts.append(zlib.compress(body, 6))
    return b"".join(parts)


class _Cursor:
    """Reads fields from a payload, failing with the field named when it ends early."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.source, self.offset = data, source, 0

    def take(self, layout: struct.Struct | str, field: str) -> tuple[Any, ...]:
        unpacker = struct.Struct(layout) if isinstance(layout, str) else layout
        end = self.offset + unpacker.size
        if end > len(self.data):
            raise FileFormatError(
                f"{self.source}: {field}: expected {unpacker.size} bytes at offset "
                f"{self.offset}, the index ends at {len(self.data)}"
            )
        values = unpacker.unpack_from(self.data, self.offset)
        self.offset = end
        return values


def decode_index(data: bytes, *, source: str) -> ForegroundIndex:
    """Decode and check an index encoded by :func:`encode_index`.

    Raises:
        FileFormatError: The bytes are not a valid index (wrong magic, newer major
            version, truncated, inconsistent sizes or coordinates).
    """
    cursor = _Cursor(bytes(data), source)
    magic, major, _minor, ndim, width, _ = cursor.take(_HEAD, "header")
    if magic != MAGIC:
        raise FileFormatError(f"{source}: expected the magic {MAGIC!r}, found {magic!r}")
    if major != VERSION[0]:
        raise FileFormatError(f"{source}: index format {major}.x, this reader supports 1.x")
    if not 0 < ndim <= MAX_NDIM or width not in (4, 8):
        raise FileFormatError(f"{source}: {ndim} axes and {width}-byte offsets are not valid")
    shape = tuple(int(v) for v in cursor.take(f"<{ndim}Q", "shape"))
    fingerprint, seed, count = cursor.take(_TAIL, "fingerprint, seed and label count")
    if count > MAX_LABELS:
        raise FileFormatError(f"{source}: {count} labels, above the limit of {MAX_LABELS}")
    table = []
    for number in range(count):
        value, voxels, samples = cursor.take(_LABEL, f"label {number}")
        spans = cursor.take(f"<{2 * ndim}Q", f"bounding box of label {number}")
        bbox = tuple(zip(spans[0::2], spans[1::2], strict=True))
        table.append((value, voxels, samples, bbox))
    total = sum(entry[2] for entry in table)
    if total > MAX_INDEX_SAMPLES:
        raise FileFormatError(f"{source}: {total} samples, above the limit {MAX_INDEX_SAMPLES}")
    body = _inflate(cursor.data[cursor.offset :], total * width, source)
    offsets = np.frombuffer(body, dtype=f"<u{width}").astype(np.int64)
    labels = []
    size = int(np.prod(shape, dtype=np.uint64))
    for value, voxels, samples, bbox in table:
        flat, offsets = np.cumsum(offsets[:samples]), offsets[samples:]
        if samples > voxels or (samples and not 0 <= flat.min() <= flat.max() < size):
            raise FileFormatError(f"{source}: the samples of label {value} leave the array")
        if any(not 0 <= a < b <= n for (a, b), n in zip(bbox, shape, strict=True)):
            raise FileFormatError(f"{source}: bounding box of label {value} leaves {shape}")
        labels.append(LabelIndex(int(value), int(voxels), bbox, flat))
    return ForegroundIndex(shape, bytes(fingerprint), int(seed), tuple(labels))


def _inflate(stream: bytes, expected: int, source: str) -> bytes:
    """zlib-decompress ``stream``, which must hold exactly ``expected`` bytes."""
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(stream, expected + 1)
    except zlib.error as exc:
        problem = f"the sample offsets cannot be decompressed: {exc}"
        raise FileFormatError(f"{source}: {problem}") from None
    if len(body) != expected or not inflater.eof:
        raise FileFormatError(
            f"{source}: expected {expected} bytes of sample offsets, found {len(body)}"
            + ("" if inflater.eof else " or more")
        )
    return body
