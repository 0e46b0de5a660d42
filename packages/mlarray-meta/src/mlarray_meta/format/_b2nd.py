"""Parsing of the ``b2nd`` metalayer: shape, chunk and block shapes, dtype (stdlib only).

The layout is c-blosc2's ``README_B2ND_METALAYER.rst``: a msgpack array
``[version, ndim, shape, chunkshape, blockshape, dtype_format, dtype]``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

from mlarray_meta.errors import FileFormatError
from mlarray_meta.format._msgpack import unpackb

__all__ = ["MAX_NDIM", "B2ndMetalayer", "expected_sizes", "parse_b2nd"]

MAX_NDIM: Final = 16
"""Most dimensions a b2nd array may have (c-blosc2's ``B2ND_MAX_DIM``)."""

_MAX_DTYPE_CHARS: Final = 65536
_INT32_MAX: Final = 2**31 - 1
_INT64_MAX: Final = 2**63 - 1
_NUMPY_DTYPE_FORMAT: Final = 0
_SIMPLE_DTYPE: Final = re.compile(r"[<>|=]?[biufc](\d+)")


@dataclass(frozen=True, slots=True)
class B2ndMetalayer:
    """What the ``b2nd`` metalayer says about the array.

    Attributes:
        version: The metalayer format version (0 for every known writer).
        shape: Array shape.
        chunks: Chunk shape, one entry per dimension.
        blocks: Block shape, one entry per dimension.
        dtype: NumPy dtype string, e.g. ``'<i2'`` or ``"[('a', '<i4')]"``.
    """

    version: int
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    blocks: tuple[int, ...]
    dtype: str


def _fail(source: str, field: str, expected: str, found: object) -> FileFormatError:
    return FileFormatError(f"{source}: b2nd metalayer: {field}: expected {expected}, found {found}")


def _ints(value: Any, ndim: int, limit: int, source: str, field: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) != ndim:
        found = f"{len(value)} entries" if isinstance(value, list) else type(value).__name__
        raise _fail(source, field, f"a list of {ndim} integers", found)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= limit:
            raise _fail(source, field, f"integers in 0..{limit}", value)
    return tuple(value)


def parse_b2nd(content: bytes, *, source: str, typesize: int) -> B2ndMetalayer:
    """Decode and validate the ``b2nd`` metalayer content.

    Args:
        content: The metalayer's bytes (msgpack).
        source: Names the file in error messages.
        typesize: The frame's item size, checked against simple dtypes.

    Returns:
        The validated metalayer.

    Raises:
        FileFormatError: The metalayer is malformed or inconsistent.
    """
    value = unpackb(content, source=f"{source}: b2nd metalayer", max_depth=4)
    if not isinstance(value, list) or len(value) < 7:
        found = f"{len(value)} entries" if isinstance(value, list) else type(value).__name__
        raise _fail(source, "layout", "a list of 7 entries", found)
    version, ndim, shape, chunks, blocks, dtype_format, dtype = value[:7]
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 127:
        raise _fail(source, "version", "an integer in 0..127", version)
    if isinstance(ndim, bool) or not isinstance(ndim, int) or not 0 <= ndim <= MAX_NDIM:
        raise _fail(source, "ndim", f"an integer in 0..{MAX_NDIM}", ndim)
    metalayer = B2ndMetalayer(
        version=version,
        shape=_ints(shape, ndim, _INT64_MAX, source, "shape"),
        chunks=_ints(chunks, ndim, _INT32_MAX, source, "chunkshape"),
        blocks=_ints(blocks, ndim, _INT32_MAX, source, "blockshape"),
        dtype=_dtype(dtype_format, dtype, source, typesize),
    )
    for axis, (size, chunk, block) in enumerate(
        zip(metalayer.shape, metalayer.chunks, metalayer.blocks, strict=True)
    ):
        if block > chunk or (size > 0 and block == 0):
            raise _fail(
                source, f"axis {axis}", "0 < block <= chunk", f"chunk {chunk}, block {block}"
            )
    return metalayer


def _dtype(dtype_format: Any, dtype: Any, source: str, typesize: int) -> str:
    if dtype_format != _NUMPY_DTYPE_FORMAT or isinstance(dtype_format, bool):
        raise _fail(source, "dtype format", "0 (NumPy)", dtype_format)
    if not isinstance(dtype, str) or not 0 < len(dtype) <= _MAX_DTYPE_CHARS:
        raise _fail(source, "dtype", "a NumPy dtype string", repr(dtype)[:80])
    if not dtype.isascii() or not dtype.isprintable():
        raise _fail(source, "dtype", "printable ASCII", repr(dtype)[:80])
    simple = _SIMPLE_DTYPE.fullmatch(dtype)
    if simple and int(simple.group(1)) != typesize:
        raise _fail(source, "dtype", f"an item size of {typesize} (the frame's)", repr(dtype))
    return dtype


def expected_sizes(metalayer: B2ndMetalayer, typesize: int) -> tuple[int, int] | None:
    """Return the chunk size and total size in bytes the frame must declare for ``metalayer``.

    Blosc2 pads each chunk to a whole number of blocks and stores whole chunks, so the
    chunk size is that of the block-padded chunk shape and the total is the chunk count
    times it. An empty array (a zero in its shape) stores nothing: ``None``.
    """
    if 0 in metalayer.shape:
        return None
    padded = zip(metalayer.chunks, metalayer.blocks, strict=True)
    chunk_bytes = math.prod(-(-chunk // block) * block for chunk, block in padded) * typesize
    grid = zip(metalayer.shape, metalayer.chunks, strict=True)
    nchunks = math.prod(-(-size // chunk) for size, chunk in grid)
    return chunk_bytes, nchunks * chunk_bytes
